"""Parse: feed documents (RSS, Atom, RDF, JSON Feed) into format-independent entries."""
