package callbill

// CheckAccountScope returns EINVALID unless a read names exactly one of an
// account or every account: "every account" is asked for explicitly (the
// operator's views), never implied by a missing account.
func CheckAccountScope(account string, all bool) error {
	if all == (account != "") {
		return Errorf(EINVALID, "name an account or all accounts")
	}
	return nil
}
