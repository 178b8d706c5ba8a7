"""The tenant's users and what each role may do (the tenant administrator's), and the action log
(who did what when)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers.response import Response as BaseResponse
from wtforms import EmailField, PasswordField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from admin.pages import formats
from admin.pages.site import (
    PlainForm,
    attempt,
    choices,
    log_action,
    now,
    operator,
    page,
    pages,
    tenant,
)
from connector.db import db_session
from processing.accounts.actions import ACTION_TITLES, read_actions
from processing.accounts.roles import ADMIN, PERMISSION_TITLES, ROLE_TITLES, TENANT_ROLES
from processing.accounts.service import (
    MIN_PASSWORD_LENGTH,
    add_user,
    get_user,
    role_table,
    set_password,
    set_permission,
    tenant_users,
)

ROLE_ORDER = [role for role in ROLE_TITLES if role in TENANT_ROLES]


class UserForm(FlaskForm):
    email = EmailField(
        "Электронная почта (логин)", validators=[DataRequired("Введите адрес."), Length(max=254)]
    )
    name = StringField("Имя", validators=[Length(max=200)])
    roles = SelectMultipleField(
        "Роли",
        choices=choices((role, ROLE_TITLES[role]) for role in ROLE_ORDER),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    password = PasswordField(
        f"Пароль (не короче {MIN_PASSWORD_LENGTH} символов)",
        validators=[DataRequired("Введите пароль."), Length(max=200)],
    )


def _page(form: UserForm | None = None) -> str:
    db, owner = db_session(), tenant()
    return render_template(
        "pages/users.html",
        users=tenant_users(db, owner),
        form=form or UserForm(formdata=None),
        table=role_table(db, owner.id),
        roles=ROLE_ORDER,
        permissions=PERMISSION_TITLES,
        plain=PlainForm(),
        admin=ADMIN,
    )


@pages.route("/users")
@page("users.manage")
def users() -> str:
    return _page()


@pages.route("/users/add", methods=["POST"])
@page("users.manage")
def user_add() -> BaseResponse | str:
    form = UserForm()
    if form.validate_on_submit():
        done, result = attempt(
            lambda: add_user(
                db_session(),
                tenant(),
                form.email.data,
                form.password.data,
                form.roles.data,
                name=form.name.data or "",
                now=now(),
            )
        )
        if done:
            log_action("user.add", str(result.id), roles=sorted(form.roles.data))
            flash(f"Пользователь {result.email} добавлен.", "success")
            return redirect(url_for("pages.users"))
        form.form_errors.append(result)
    return _page(form)


@pages.route("/users/<int:user_id>/active", methods=["POST"])
@page("users.manage")
def user_active(user_id: int) -> BaseResponse:
    user = get_user(db_session(), tenant(), user_id)
    if user.id == operator().id:
        flash("Нельзя отключить самого себя.", "error")
        return redirect(url_for("pages.users"))
    user.active = not user.active
    log_action("user.active", str(user.id), active=user.active)
    flash(f"Пользователь {user.email} {'включён' if user.active else 'отключён'}.", "success")
    return redirect(url_for("pages.users"))


@pages.route("/users/<int:user_id>/password", methods=["POST"])
@page("users.manage")
def user_password(user_id: int) -> BaseResponse:
    """A forgotten password: the administrator sets a new one and passes it on; the user's
    sessions end."""
    user = get_user(db_session(), tenant(), user_id)
    done, result = attempt(lambda: set_password(user, request.form.get("password", "")))
    if done:
        log_action("user.password", str(user.id))
        flash(f"Новый пароль {user.email} задан: передайте его пользователю.", "success")
    else:
        flash(result, "error")
    return redirect(url_for("pages.users"))


@pages.route("/roles", methods=["POST"])
@page("users.manage")
def roles_save() -> BaseResponse:
    owner, db = tenant(), db_session()
    before = role_table(db, owner.id)
    wanted = set(request.form.getlist("grant"))
    changed = []
    for role in ROLE_ORDER:
        if role == ADMIN:
            continue
        for permission in PERMISSION_TITLES:
            allowed = f"{role}:{permission}" in wanted
            if allowed != (permission in before[role]):
                set_permission(db, owner, role, permission, allowed)
                changed.append(f"{role}:{permission}={'1' if allowed else '0'}")
    if changed:
        log_action("permission.set", "", changes=changed)
    flash("Права ролей сохранены." if changed else "Права ролей не изменились.", "success")
    return redirect(url_for("pages.users"))


@pages.route("/actions")
@page("actions.view")
def actions() -> str:
    owner = tenant()
    since = formats.day_start(request.args.get("since"), formats.zone_of(owner))
    action = request.args.get("action") if request.args.get("action") in ACTION_TITLES else None
    rows = read_actions(db_session(), owner.id, since=since, action=action, limit=300)
    return render_template("pages/actions.html", rows=rows, titles=ACTION_TITLES, args=request.args)
