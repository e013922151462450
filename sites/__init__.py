"""Sites: sites, environments and everything that describes what runs in them."""
