"""The gift stock of each store: gifts the promotion engine gives are drawn from it, issued per
receipt, customer and promotion, and returned with the receipt."""
