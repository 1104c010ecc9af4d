"""The client side: source -> round -> tree -> history."""
