"""Clusters, nodes, devices (GPU inventory), resource specs, resource quotas and queues."""
