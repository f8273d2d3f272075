"""One module per rule: what the rule reads of the config, and its table-to-table step."""
