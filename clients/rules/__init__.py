"""Pure rules of client documentation: attendance (six in a row), the record note."""
