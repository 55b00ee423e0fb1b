"""kgen: generate and lint Kubernetes configuration for web and AI/ML workloads."""

__version__ = "0.1.0"
