"""Date and time formats per language (FORMAT_MODULE_PATH): the same ISO-like form in both."""
