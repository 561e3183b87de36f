"""The notebook layer: parsing, display and the magics in a shell; real notebooks in a real kernel."""
