"""kgen: generate and lint Kubernetes configuration for web and AI/ML workloads."""

__version__ = "0.2.0"
