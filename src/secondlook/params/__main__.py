"""``python -m secondlook.params > docs/params.schema.json`` writes the published JSON schema."""

import sys

from secondlook.params import json_schema

sys.stdout.write(json_schema())
