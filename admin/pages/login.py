"""Logging in and out of the admin pages: e-mail and password, throttled per client address and
per login, every attempt in the action log (the failed ones without the e-mail typed)."""

from __future__ import annotations

import hashlib

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers.response import Response as BaseResponse
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from admin.pages.site import (
    attempt,
    end_session,
    log_action,
    now,
    operator,
    page,
    pages,
    safe_next,
    session_stamp,
    start_session,
)
from connector.db import db_session
from connector.throttle import TooManyAttempts, login_throttle
from processing.accounts.actions import record_action
from processing.accounts.models import User
from processing.accounts.service import MIN_PASSWORD_LENGTH, authenticate, change_password

# Per client address and per login: a guesser behind one address, or many addresses on one login.
MAX_FAILED_LOGINS = 10
FAILED_LOGIN_WINDOW_S = 15 * 60
THROTTLE = "admin-pages"


class LoginForm(FlaskForm):
    email = EmailField(
        "Электронная почта", validators=[DataRequired("Введите адрес."), Length(max=254)]
    )
    password = PasswordField(
        "Пароль", validators=[DataRequired("Введите пароль."), Length(max=200)]
    )


def _throttle_keys(email: str) -> list[str]:
    login = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:24]
    return [f"address {request.remote_addr}", f"login {login}"]


@pages.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | tuple[str, int] | str:
    if current_user.is_authenticated:
        return redirect(url_for("pages.dashboard"))
    form = LoginForm()
    if request.args.get("expired"):
        flash("Сеанс завершён: слишком долго не было действий. Войдите снова.", "info")
    if not form.validate_on_submit():
        return render_template("pages/login.html", form=form)
    throttle = login_throttle(THROTTLE, limit=MAX_FAILED_LOGINS, window_s=FAILED_LOGIN_WINDOW_S)
    keys = _throttle_keys(form.email.data)
    try:
        for key in keys:
            throttle.check(key)
    except TooManyAttempts as refused:
        minutes = max(1, -(-(refused.retry_after_s or 60) // 60))
        form.form_errors.append(
            f"Слишком много неудачных попыток входа. Повторите через {minutes} мин. или "
            "попросите администратора сети проверить вашу учётную запись."
        )
        return render_template("pages/login.html", form=form), 429
    db = db_session()
    moment = now()
    user = authenticate(db, form.email.data, form.password.data, now=moment)
    if user is None:
        for key in keys:
            throttle.failed(key)
        record_action(db, tenant_id=None, user_id=None, action="login.failed", now=moment)
        form.form_errors.append("Неверная электронная почта или пароль.")
        return render_template("pages/login.html", form=form)
    start_session(user, moment)
    log_action("login")
    return redirect(safe_next(request.args.get("next")))


@pages.route("/logout", methods=["POST"])
@page()
def logout() -> BaseResponse:
    log_action("logout")
    end_session(everywhere=True)
    flash("Вы вышли.", "info")
    return redirect(url_for("pages.login"))


class PasswordForm(FlaskForm):
    current = PasswordField("Текущий пароль", validators=[DataRequired("Введите текущий пароль.")])
    new = PasswordField(
        f"Новый пароль (не короче {MIN_PASSWORD_LENGTH} символов)",
        validators=[DataRequired("Введите новый пароль."), Length(max=200)],
    )
    repeat = PasswordField(
        "Новый пароль ещё раз", validators=[EqualTo("new", "Пароли не совпадают.")]
    )


@pages.route("/password", methods=["GET", "POST"])
@page()
def password() -> BaseResponse | str:
    """The user's own password; its other sessions end (their stamp no longer matches)."""
    form = PasswordForm()
    if form.validate_on_submit():
        db = db_session()
        user = db.get_one(User, operator().id)
        done, result = attempt(lambda: change_password(user, form.current.data, form.new.data))
        if done:
            session["stamp"] = session_stamp(user)  # this session goes on
            log_action("user.password", str(user.id))
            flash("Пароль изменён. Другие сеансы этого пользователя завершены.", "success")
            return redirect(url_for("pages.dashboard"))
        form.form_errors.append(result)
    return render_template("pages/password.html", form=form)
