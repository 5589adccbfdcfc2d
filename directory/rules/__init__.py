"""Pure rules of the directory: formats, parsing and vocabularies, no database."""
