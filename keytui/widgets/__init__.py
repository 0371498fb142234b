"""Reusable parts of the console; a widget renders what it is given and never queries the store."""
