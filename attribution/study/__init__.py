"""Studies: a YAML spec runs designs, triangulates them, decides launches and writes the documents."""
