"""The web console: a static page and its script, served by the gateway at /console; every
piece of data it shows comes from the authenticated API with the signed-in key."""
