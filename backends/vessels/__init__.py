"""Vessel skeletons in 2D (fundus) and 3D (angiography) as topology-faithful graphs with radii."""
