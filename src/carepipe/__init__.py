"""CarePipe: clinical AI pipelines and the operations around them."""

__version__ = "0.1.0"
