"""Clean: HTML into text blocks, canonical links, boilerplate (generic and learned), and
the sanitised HTML of the output."""
