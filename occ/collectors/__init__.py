"""The sources: ``base`` (the collector interface), ``registry`` (the name -> class
table, in the original's default order), and one module or folder per source. Imports nothing:
the registry loads a collector's module only when it is configured."""
