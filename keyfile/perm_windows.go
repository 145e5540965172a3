//go:build windows

package keyfile

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/windows"
)

// errChmodUnsupported never matches: Chmod on Windows only toggles the
// read-only bit and does not fail for 0600.
var errChmodUnsupported = errors.New("chmod unsupported")

// broadSIDs are SDDL abbreviations for groups that must not have access:
// Everyone, Authenticated Users, Users, Interactive, Guests.
var broadSIDs = []string{";;;WD)", ";;;AU)", ";;;BU)", ";;;IU)", ";;;BG)"}

// checkPrivate refuses a key file whose ACL grants access to broad groups.
func checkPrivate(f *os.File, path string) error {
	sd, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("reading the ACL of %s: %w", path, err)
	}
	sddl := sd.String()
	for _, s := range broadSIDs {
		for _, ace := range strings.Split(sddl, "(") {
			if strings.HasPrefix(ace, "A;") && strings.HasSuffix(ace, s) {
				return fmt.Errorf("%s grants access to %s: %w", path, strings.Trim(s, ";)"), ErrPermissions)
			}
		}
	}
	return nil
}
