//go:build !windows

package config

// systemDropIns is the drop-in folder of the machine: it applies to every
// user's configuration, after the one beside the file.
const systemDropIns = "/etc/mykey/mykey.d"

// policyLayers returns the machine's drop-ins unless they are the folder
// beside the configuration file (dir).
func policyLayers(dir string) ([]layer, []Problem) {
	if dir == systemDropIns {
		return nil, nil
	}
	return dropInLayers(systemDropIns)
}
