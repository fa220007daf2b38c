package callbill

import (
	"strings"
	"testing"
	"time"
)

func TestCreditCode(t *testing.T) {
	for _, ok := range []string{"91350100M000100Y43", "91330100MA27XL4X76", "91110000802100433B"} {
		if err := CheckCreditCode(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for bad, want := range map[string]string{
		"91350100M000100Y44":  "check character 4 (the first 17 characters give 3)",
		"91350100M000100Y4":   "18-character",
		"91350100M000100Y433": "18-character",
		"91350100M0001I0Y43":  "not allowed",
		"91350100m000100Y43":  "not allowed", // Normalize upper-cases; the check itself does not
	} {
		if err := CheckCreditCode(bad); err == nil || ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", bad, err, want)
		}
	}
}

func TestPhoneAndBankAccount(t *testing.T) {
	for _, ok := range []string{"13800138000", "+86 138 0013 8000", "0571-88880001", "(010) 12345678", "020-1234567", "400-800-1234",
		"0571-88880001转123", "8008001234"} {
		if err := CheckPhone(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"12345", "12800138000", "+1 415 555 0100", "0571-8888", "abc", "0571-88880001转x", "138-0013-800a"} {
		if err := CheckPhone(bad); ErrorCode(err) != EINVALID {
			t.Errorf("%s accepted", bad)
		}
	}
	for _, ok := range []string{"62220000", "6222000012345678901", "02000012345678901234567890123456"} {
		if err := CheckBankAccount(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"1234567", "6222 0000", "62220000x", "020000123456789012345678901234567"} {
		if err := CheckBankAccount(bad); ErrorCode(err) != EINVALID {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestFenAndDraftLapse(t *testing.T) {
	if n, err := ParseFen("12.34"); err != nil || n != 1234 || FormatFen(n) != "12.34" {
		t.Errorf("12.34: %d %v", n, err)
	}
	for _, bad := range []string{"0", "-1", "1.001", "x"} {
		if _, err := ParseFen(bad); ErrorCode(err) != EINVALID {
			t.Errorf("%s: %v", bad, err)
		}
	}
	created := time.Date(2026, 11, 5, 12, 0, 0, 0, time.UTC)
	c := EContract{State: ContractDraft, CreatedAt: created}
	if c.Lapse(created.Add(30*24*time.Hour-time.Second)) || c.State != ContractDraft {
		t.Fatal("lapsed before 30 days")
	}
	if !c.Lapse(created.Add(30*24*time.Hour)) || c.State != ContractLapsed || !c.Ended.Equal(created.Add(30*24*time.Hour)) {
		t.Fatalf("not lapsed at 30 days: %+v", c)
	}
	f := EContract{State: ContractFormal, CreatedAt: created}
	if f.Lapse(created.AddDate(1, 0, 0)) {
		t.Fatal("a formal contract lapsed")
	}
}
