// Package config loads mykey's TOML configuration: defaults, per-OS file
// locations, strict checking (an unknown key or a value of the wrong type is
// an error that names the file, line and key, so a typo never silently falls
// back to a default), and the commented template `mykey config init` writes.
package config
