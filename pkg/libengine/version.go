package libengine

// Version is the engine's release, set at link time by the Makefile.
var Version = "0.1.0-dev"
