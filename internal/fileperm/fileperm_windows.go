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

// restrictToOwner replaces the file's ACL with a protected one that grants full
// control to SYSTEM, the Administrators group and the current user only.
func restrictToOwner(path string) error {
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
