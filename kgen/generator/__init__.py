"""App spec -> resolved component models -> Kubernetes objects -> Kustomize, Helm and manifests."""
