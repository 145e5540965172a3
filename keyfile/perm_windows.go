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

// restrict replaces the file's ACL with a protected one that grants full
// control to SYSTEM, the Administrators group and the current user only.
func restrict(path string) error {
	var tok windows.Token = windows.GetCurrentProcessToken()
	u, err := tok.GetTokenUser()
	if err != nil {
		return err
	}
	sddl := "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;" + u.User.Sid.String() + ")"
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	return windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
}
