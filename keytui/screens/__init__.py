"""The console's screens: the seven pages (Textual modes, keys 1-7) and what is pushed over them."""
