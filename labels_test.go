package callbill

import "testing"

// TestEveryCodeHasALabel: every code people see has a Chinese and an
// English label, and CodeLabels names each under its kind.
func TestEveryCodeHasALabel(t *testing.T) {
	check := func(kind string, codes []string, labels map[string]Label) {
		t.Helper()
		for _, c := range codes {
			l, ok := labels[c]
			if !ok || l.Zh == "" || l.En == "" || l.Zh == c {
				t.Errorf("%s %q: label %+v", kind, c, l)
			}
			if CodeLabels()[kind+"."+c] != l {
				t.Errorf("CodeLabels lacks %s.%s", kind, c)
			}
		}
	}
	strs := func(xs ...string) []string { return xs }
	check("state", strs(string(StateNormal), string(StateOverdue), string(StateStopped)), conv(AccountStateLabel))
	check("ledger", strs(string(LedgerTopUp), string(LedgerPurchase), string(LedgerDeduct), string(LedgerSettle), string(LedgerAdjust)), conv(LedgerKindLabel))
	check("pkg", strs(string(PackageFixedInbound), string(PackageFixedOutbound), string(PackageInbound400)), conv(PackageTypeLabel))
	check("numkind", strs(string(NumberFixed), string(Number400)), conv(NumberKindLabel))
	check("numsource", strs(string(SourceCCC), string(SourceThirdParty), string(SourceOwn)), conv(NumberSourceLabel))
	check("titlekind", strs(string(TitleCompany), string(TitlePerson)), conv(TitleKindLabel))
	check("invstate", strs(string(InvoicePending), string(InvoiceIssued), string(InvoiceRejected), string(InvoiceWithdrawn)), conv(InvoiceStateLabel))
	check("constate", strs(string(ContractDraft), string(ContractFormal), string(ContractVoid), string(ContractLapsed)), conv(ContractStateLabel))
	check("bscope", strs(string(BudgetTotal), string(BudgetItem), string(BudgetInstance)), conv(BudgetScopeLabel))
	check("bmeasure", strs(string(BudgetAmount), string(BudgetMinutes)), conv(BudgetMeasureLabel))
	for p := range PackagePrices {
		if _, ok := PackageTypeLabel[p]; !ok {
			t.Errorf("voice package type %s has no label", p)
		}
	}
	if l := LabelOf(LedgerKindLabel, "refund"); l.Zh != "refund" || l.En != "refund" {
		t.Errorf("an unknown code shows as itself: %+v", l)
	}
	if LedgerKindLabel[LedgerDeduct].In("en") != "Bill deduction" || LedgerKindLabel[LedgerDeduct].In("zh") != "账单扣款" {
		t.Error("Label.In")
	}
}

func conv[K ~string](m map[K]Label) map[string]Label {
	out := map[string]Label{}
	for k, v := range m {
		out[string(k)] = v
	}
	return out
}
