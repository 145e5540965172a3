//go:build windows

package fileperm

import (
	"fmt"
	"strings"

	"golang.org/x/sys/windows"
)

// broadSIDs are SDDL abbreviations of groups that must not be able to
// change the file: Everyone, Authenticated Users, Users, Interactive,
// Guests.
var broadSIDs = []string{";;;WD)", ";;;AU)", ";;;BU)", ";;;IU)", ";;;BG)"}

// writeRights are the SDDL rights that allow changing a file.
var writeRights = []string{"FA", "FW", "GA", "GW"}

func checkTrusted(path string) error {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("reading the ACL of %s: %w", path, err)
	}
	for _, ace := range strings.Split(sd.String(), "(") {
		if !strings.HasPrefix(ace, "A;") {
			continue
		}
		for _, s := range broadSIDs {
			if !strings.HasSuffix(ace, s) {
				continue
			}
			for _, r := range writeRights {
				if strings.Contains(strings.Split(ace, ";")[2], r) {
					return fmt.Errorf("%s lets %s change it: %w", path, strings.Trim(s, ";)"), ErrUntrusted)
				}
			}
		}
	}
	return nil
}
