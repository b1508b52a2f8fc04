#!/usr/bin/env python3
"""Prints the documents of a YAML file as one JSON array (for tests/deploy.rs)."""
import json
import sys

import yaml

with open(sys.argv[1]) as f:
    json.dump([d for d in yaml.safe_load_all(f) if d is not None], sys.stdout)
