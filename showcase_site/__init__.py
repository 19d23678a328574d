"""The kit's showcase site: `build.py` (the command line) writes its generated pages with the modules of this folder,
from what `examples.py` baked and trained. Run them as scripts (`python showcase_site/build.py site`)."""
