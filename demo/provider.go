package demo

import "github.com/callbill/callbill"

// Provider is the provider side (乙方) of the demo's e-contracts: the
// operator of a deployment sets its own with `callbill contract provider`,
// and a contract cannot be confirmed before it is set, so the demo sets
// this one (a fictitious company; the tax ID passes the check-character
// rule, docs/invoices.md).
func Provider() callbill.ContractParty {
	return callbill.ContractParty{
		Name:        "示例云通信服务有限公司",
		Address:     "北京市朝阳区望京东路 8 号",
		Contact:     "客户服务部",
		Phone:       "010-12345678",
		Email:       "contracts@example.com",
		TaxID:       "91350100M000100Y43",
		Bank:        "中国工商银行北京望京支行",
		BankAccount: "0200001234567890123",
	}
}
