package console

// The texts of the import pages (imports.go), kept beside them rather than
// in the one table of i18n.go so that pages added side by side do not
// touch the same lines; they join messages before any page is rendered.
var importMessages = map[string][2]string{
	"nav.op.imports":       {"导入记录", "Imports"},
	"title.op_imports":     {"导入记录", "Imports"},
	"title.op_import_undo": {"撤销导入", "Undo import"},
	"col.import":           {"导入ID", "Import"},
	"empty.imports":        {"还没有导入。", "No imports yet."},
	"imp.imported":         {"导入", "Imported"},
	"imp.duplicates":       {"重复", "Duplicates"},
	"imp.rejected":         {"拒绝", "Rejected"},
	"imp.sources":          {"来源", "Sources"},
	"imp.by":               {"操作人", "By"},
	"imp.counts":           {"数量", "Counts"},
	"imp.counts_text":      {"导入 %d，重复 %d，拒绝 %d", "imported %d, duplicates %d, rejected %d"},
	"imp.undo_info":        {"撤销", "Undone"},
	"imp.undo_summary":     {"移除 %d 条通话，重新计费 %d 条", "%d calls removed, %d re-rated"},
	"imp.undo":             {"撤销…", "Undo…"},
	"imp.older":            {"更早的导入 →", "Older imports →"},
	"imp.back":             {"← 导入记录", "← Imports"},
	"imp.note":             {"每次 callbill import（其文件）和每个 POST /api/v1/imports 请求都是一条导入记录。撤销只作用于未关闭账期；已关闭账期的账单不再变更，请以调账更正。", "Each callbill import (its files) and each POST /api/v1/imports request is one import. Undo works in open cycles only; a closed bill never changes, so correct it with an adjustment."},
	"imp.undo_note":        {"撤销会从未关闭账期中移除该导入的全部通话（及其用量汇总、录音存储、语音包分钟数和平台费阶梯分钟数），并按原顺序对同一账户之后导入的通话重新计费，使账单与从未导入时一致；这些通话之后可以重新导入。该导入若有通话属于已关闭账期，则整体拒绝撤销。", "Undoing removes every call of this import from the open cycles (with their usage totals, recording storage, voice-package minutes and platform band minutes) and rates the calls of the same accounts imported after it again, in their order, so that the bills are those of a world without it; its calls can then be imported again. If any of its calls is billed in a closed cycle, the undo is refused whole."},
	"imp.undone_note":      {"该导入已撤销。", "This import was undone."},
	"imp.confirm":          {"我确认撤销该导入（其通话将从未关闭账期的账单中移除）", "I confirm undoing this import (its calls leave the open cycles' bills)"},
	"imp.confirm_needed":   {"请勾选确认。", "Please tick the confirmation."},
	"imp.undo_submit":      {"撤销导入", "Undo the import"},
	"imp.undone":           {"已撤销导入 %s：移除 %d 条通话，重新计费 %d 条（账户 %s；账期 %s）。", "Undid import %s: %d calls removed, %d re-rated (accounts %s; cycles %s)."},
	"imp.already":          {"导入 %s 此前已撤销，未做任何变更。", "Import %s was undone before; nothing changed."},
}

func init() {
	for k, m := range importMessages {
		messages[k] = m
	}
}
