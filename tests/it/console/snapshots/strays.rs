//! Every file under tests/snapshots/ is written by a snapshot test (a renamed test leaves none
//! behind).

use super::*;

#[test]
fn snapshot_files_have_no_strays() {
    // Every file under tests/snapshots/ is written by a test here (renamed tests leave none).
    let dir = root().join("tests/snapshots");
    let known = [
        "drill_gate_waiting_60x16",
        "drill_second_approver_120x36",
        "drill_gate_waiting_80x24",
        "drill_gate_waiting_120x36",
        "drill_gate_waiting_200x50",
        "live_gate_waiting_120x36",
        "live_preflight_gate_120x36",
        "read_only_120x36",
        "read_only_80x24",
        "drill_typed_gate_waiting_120x36",
        "gate_control_plane_120x36",
        "drill_blocked_120x36",
        "drill_blocked_80x24",
        "drill_finished_120x36",
        "rpo_breached_80x24",
        "rpo_breached_120x36",
        "help_drill_80x24",
        "help_drill_120x36",
        "help_read_only_120x36",
        "gate_typed_empty_120x36",
        "gate_typed_filled_80x24",
        "gate_typed_filled_120x36",
        "gate_typed_wrong_120x36",
        "gate_confirm_80x24",
        "gate_confirm_120x36",
        "reason_skip_120x36",
        "reason_abort_empty_80x24",
        "filter_typing_120x36",
        "filter_steps_80x24",
        "filter_audit_120x36",
        "timeline_60x16",
        "timeline_80x24",
        "timeline_200x50",
        "timeline_finished_120x36",
        "command_choices_60x16",
        "command_choices_80x24",
        "command_choices_200x50",
        "command_step_jump_80x24",
        "command_resource_60x16",
        "command_resource_80x24",
        "command_resource_200x50",
        "resource_detail_60x16",
        "mouse_audit_paused_80x24",
        "every_help_60x16",
        "every_help_80x24",
        "every_help_200x50",
        "every_gate_60x16",
        "every_gate_80x24",
        "every_gate_200x50",
        "every_reason_60x16",
        "every_reason_80x24",
        "every_reason_200x50",
        "every_read_only_60x16",
        "every_read_only_80x24",
        "every_read_only_200x50",
        "every_quit_60x16",
        "every_quit_80x24",
        "every_quit_200x50",
        "too_small_59x15",
        "too_small_20x4",
        "rollback_gate_waiting_80x24",
        "rollback_gate_popup_120x36",
        "rollback_done_60x16",
        "resource_detail_80x24",
        "resource_detail_200x50",
    ];
    if !Path::new(&dir).exists() {
        return;
    }
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        let stem = name.trim_end_matches(".txt");
        assert!(known.contains(&stem), "stray snapshot {name}");
    }
}
