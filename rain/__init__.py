"""RAIN Live: real-time, infinite-length character animation (a re-implementation of arXiv 2412.19489).

Import the parts you need, e.g. `from rain.pipeline import RainPipeline`; this package never imports gradio.
"""

__version__ = "0.1.0"
