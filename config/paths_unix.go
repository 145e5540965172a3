//go:build !windows

package config

import (
	"os"
	"path/filepath"
)

// defaultLocations follows the XDG base directories for a user, and
// /etc, /var/lib and /var/log for root (a system-wide desk installation).
func defaultLocations() Locations {
	if os.Geteuid() == 0 {
		return Locations{
			Config:   "/etc/mykey/mykey.toml",
			Database: "/var/lib/mykey/registry.db",
			LogDir:   "/var/log/mykey",
		}
	}
	home, _ := os.UserHomeDir()
	xdg := func(env, fallback string) string {
		if d := os.Getenv(env); filepath.IsAbs(d) {
			return d
		}
		return filepath.Join(home, fallback)
	}
	return Locations{
		Config:   filepath.Join(xdg("XDG_CONFIG_HOME", ".config"), "mykey", "mykey.toml"),
		Database: filepath.Join(xdg("XDG_DATA_HOME", ".local/share"), "mykey", "registry.db"),
		LogDir:   filepath.Join(xdg("XDG_STATE_HOME", ".local/state"), "mykey", "logs"),
	}
}
