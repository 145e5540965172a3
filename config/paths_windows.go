//go:build windows

package config

import (
	"os"
	"path/filepath"
)

// defaultLocations puts everything under %ProgramData%\mykey, shared by the
// desk's users and kept by the installer on upgrade and uninstall.
func defaultLocations() Locations {
	base := os.Getenv("ProgramData")
	if base == "" {
		base = `C:\ProgramData`
	}
	base = filepath.Join(base, "mykey")
	return Locations{
		Config:   filepath.Join(base, "mykey.toml"),
		Database: filepath.Join(base, "registry.db"),
		LogDir:   filepath.Join(base, "logs"),
	}
}
