//! The rules a definition must meet before anything is scored with it: the
//! shipped files (a test checks each) and a therapist's custom instrument
//! alike. Every problem is reported at once, each under the part of the
//! definition it concerns; messages name the item, scale or band, and never
//! echo free text back.

use std::collections::BTreeSet;

use super::definition::{Band, InstrumentDefinition, TOTAL};
use crate::record::{check_required, check_text};
use crate::validation::{FieldError, FieldErrors};

pub const ID_MAX: usize = 40;
pub const NAME_MAX: usize = 200;
pub const SHORT_NAME_MAX: usize = 40;
pub const INSTRUCTIONS_MAX: usize = 2_000;
pub const TIME_FRAME_MAX: usize = 200;
pub const LICENCE_MAX: usize = 2_000;
pub const REFERENCES_MAX: usize = 20;
pub const REFERENCE_MAX: usize = 500;
pub const RESPONSE_SCALES_MAX: usize = 10;
pub const OPTIONS_MAX: usize = 21;
pub const OPTION_LABEL_MAX: usize = 100;
/// The highest points one answer may score.
pub const VALUE_MAX: u32 = 100;
pub const ITEMS_MAX: usize = 100;
pub const ITEM_TEXT_MAX: usize = 500;
pub const MULTIPLIER_MAX: u32 = 10;
pub const SUBSCALES_MAX: usize = 20;
pub const BANDS_MAX: usize = 12;
pub const BAND_LABEL_MAX: usize = 100;
pub const RISK_ITEMS_MAX: usize = 20;
pub const RISK_MESSAGE_MAX: usize = 300;
pub const STATEMENT_MAX: usize = 1_000;
pub const SOURCE_MAX: usize = 1_000;
pub const VERSION_MAX: u32 = 100_000;

/// Checks a definition and tidies it (text trimmed, items in number order).
pub(super) fn validate(def: &mut InstrumentDefinition) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::default();
    check_header(&mut errors, def);
    check_response_scales(&mut errors, def);
    check_items(&mut errors, def);
    check_scoring(&mut errors, def);
    check_subscales(&mut errors, def);
    check_missing_items(&mut errors, def);
    check_risk_items(&mut errors, def);
    check_change_norms(&mut errors, def);
    errors.into_result()
}

/// The lowest and highest score of the sum of these items, after the
/// multiplier. Unknown items and scales count as 0 (they are reported
/// elsewhere).
pub(super) fn range_of(def: &InstrumentDefinition, items: &[u32]) -> (u32, u32) {
    let (mut lo, mut hi) = (0u32, 0u32);
    for number in items {
        let scale = def
            .items
            .iter()
            .find(|i| i.number == *number)
            .and_then(|item| def.response_scales.iter().find(|s| s.id == item.scale));
        if let Some(scale) = scale {
            let (min, max) = scale.bounds();
            lo = lo.saturating_add(min);
            hi = hi.saturating_add(max);
        }
    }
    let m = def.scoring.multiplier;
    (lo.saturating_mul(m), hi.saturating_mul(m))
}

/// The item numbers of a scored scale: every item for `total`.
pub(super) fn items_of<'a>(def: &'a InstrumentDefinition, scale: &str) -> Option<std::borrow::Cow<'a, [u32]>> {
    if scale == TOTAL {
        def.scoring.total.then(|| def.items.iter().map(|i| i.number).collect::<Vec<_>>().into())
    } else {
        def.subscales.iter().find(|s| s.id == scale).map(|s| s.items.as_slice().into())
    }
}

fn check_header(errors: &mut FieldErrors, def: &mut InstrumentDefinition) {
    def.id = def.id.trim().to_owned();
    if !is_slug(&def.id) {
        errors.push(FieldError::new(
            "id",
            format!("Give the instrument an id of 2 to {ID_MAX} lower-case letters, digits and hyphens, e.g. phq-9."),
        ));
    }
    if def.version == 0 || def.version > VERSION_MAX {
        errors.push(FieldError::new("version", "Number the definition's version from 1."));
    }
    text(errors, "name", "the instrument's name", &mut def.name, NAME_MAX, Need::Required, Lines::One);
    text(errors, "short_name", "the short name", &mut def.short_name, SHORT_NAME_MAX, Need::Required, Lines::One);
    text(
        errors,
        "instructions",
        "the instructions",
        &mut def.instructions,
        INSTRUCTIONS_MAX,
        Need::Required,
        Lines::Many,
    );
    text(errors, "time_frame", "the time frame", &mut def.time_frame, TIME_FRAME_MAX, Need::Optional, Lines::One);
    text(errors, "licence", "the licence note", &mut def.licence, LICENCE_MAX, Need::Required, Lines::Many);
    if def.references.len() > REFERENCES_MAX {
        errors.push(FieldError::new("references", format!("Keep to {REFERENCES_MAX} references.")));
    }
    for r in &mut def.references {
        text(errors, "references", "each reference", r, REFERENCE_MAX, Need::Required, Lines::One);
    }
}

fn check_response_scales(errors: &mut FieldErrors, def: &mut InstrumentDefinition) {
    const F: &str = "response_scales";
    if def.response_scales.is_empty() {
        errors.push(FieldError::new(F, "Add a response scale: the answers an item offers."));
    }
    if def.response_scales.len() > RESPONSE_SCALES_MAX {
        errors.push(FieldError::new(F, format!("Keep to {RESPONSE_SCALES_MAX} response scales.")));
    }
    let mut ids = BTreeSet::new();
    for (i, scale) in def.response_scales.iter_mut().enumerate() {
        let n = i + 1;
        scale.id = scale.id.trim().to_owned();
        if !is_slug(&scale.id) {
            errors.push(FieldError::new(
                F,
                format!("Response scale {n}: give it an id of lower-case letters, digits and hyphens."),
            ));
        } else if !ids.insert(scale.id.clone()) {
            errors.push(FieldError::new(F, format!("Response scale {n}: another scale has the same id.")));
        }
        if scale.options.len() < 2 || scale.options.len() > OPTIONS_MAX {
            errors.push(FieldError::new(F, format!("Response scale {n}: offer from 2 to {OPTIONS_MAX} answers.")));
        }
        if scale.options.windows(2).any(|w| w[0].value >= w[1].value) {
            errors.push(FieldError::new(
                F,
                format!("Response scale {n}: list the answers with their points in ascending order, each different."),
            ));
        }
        if scale.options.iter().any(|o| o.value > VALUE_MAX) {
            errors
                .push(FieldError::new(F, format!("Response scale {n}: an answer scores at most {VALUE_MAX} points.")));
        }
        let last = scale.options.len().saturating_sub(1);
        for (j, option) in scale.options.iter_mut().enumerate() {
            let need = if j == 0 || j == last { Need::Required } else { Need::Optional };
            text(
                errors,
                F,
                &format!("the label of each answer of response scale {n} (the first and last are needed)"),
                &mut option.label,
                OPTION_LABEL_MAX,
                need,
                Lines::One,
            );
        }
    }
}

fn check_items(errors: &mut FieldErrors, def: &mut InstrumentDefinition) {
    const F: &str = "items";
    let n = def.items.len();
    if n == 0 {
        errors.push(FieldError::new(F, "Add at least one item."));
    }
    if n > ITEMS_MAX {
        errors.push(FieldError::new(F, format!("Keep to {ITEMS_MAX} items.")));
    }
    let numbers: BTreeSet<u32> = def.items.iter().map(|i| i.number).collect();
    let expected: BTreeSet<u32> = (1..=u32::try_from(n).unwrap_or(u32::MAX)).collect();
    if numbers != expected {
        errors.push(FieldError::new(F, format!("Number the items 1 to {n}, each number once.")));
    }
    for item in &mut def.items {
        let number = item.number;
        text(
            errors,
            F,
            &format!("the text of item {number}"),
            &mut item.text,
            ITEM_TEXT_MAX,
            Need::Required,
            Lines::One,
        );
        if !def.response_scales.iter().any(|s| s.id == item.scale.trim()) {
            errors.push(FieldError::new(F, format!("Item {number}: choose one of the response scales.")));
        }
        item.scale = item.scale.trim().to_owned();
    }
    def.items.sort_by_key(|i| i.number);
}

fn check_scoring(errors: &mut FieldErrors, def: &mut InstrumentDefinition) {
    let m = def.scoring.multiplier;
    if m == 0 || m > MULTIPLIER_MAX {
        errors.push(FieldError::new(
            "scoring.multiplier",
            format!("The multiplier is a whole number from 1 to {MULTIPLIER_MAX}."),
        ));
    }
    text(
        errors,
        "scoring.source",
        "where the scoring comes from",
        &mut def.scoring.source,
        SOURCE_MAX,
        Need::Required,
        Lines::Many,
    );
    if !def.scoring.total && def.subscales.is_empty() {
        errors.push(FieldError::new("scoring.total", "Score a total, subscales, or both."));
    }
    if def.scoring.total {
        let all: Vec<u32> = def.items.iter().map(|i| i.number).collect();
        let range = range_of(def, &all);
        check_bands(errors, "scoring.bands", "The total", &mut def.scoring.bands, range);
    } else if !def.scoring.bands.is_empty() {
        errors.push(FieldError::new("scoring.bands", "Without a total there are no bands of the total."));
    }
}

fn check_subscales(errors: &mut FieldErrors, def: &mut InstrumentDefinition) {
    const F: &str = "subscales";
    if def.subscales.len() > SUBSCALES_MAX {
        errors.push(FieldError::new(F, format!("Keep to {SUBSCALES_MAX} subscales.")));
    }
    let items: BTreeSet<u32> = def.items.iter().map(|i| i.number).collect();
    let mut ids = BTreeSet::new();
    let mut ranges = Vec::with_capacity(def.subscales.len());
    for (i, sub) in def.subscales.iter_mut().enumerate() {
        let n = i + 1;
        sub.id = sub.id.trim().to_owned();
        if !is_slug(&sub.id) || sub.id == TOTAL {
            errors.push(FieldError::new(
                F,
                format!("Subscale {n}: give it an id of lower-case letters, digits and hyphens (not \"total\")."),
            ));
        } else if !ids.insert(sub.id.clone()) {
            errors.push(FieldError::new(F, format!("Subscale {n}: another subscale has the same id.")));
        }
        text(errors, F, &format!("the name of subscale {n}"), &mut sub.name, NAME_MAX, Need::Required, Lines::One);
        if sub.items.is_empty() {
            errors.push(FieldError::new(F, format!("Subscale {n}: list its items.")));
        }
        let mut seen = BTreeSet::new();
        for number in &sub.items {
            if !items.contains(number) {
                errors.push(FieldError::new(F, format!("Subscale {n}: item {number} does not exist.")));
            } else if !seen.insert(*number) {
                errors.push(FieldError::new(F, format!("Subscale {n}: item {number} is listed twice.")));
            }
        }
    }
    for sub in &def.subscales {
        ranges.push(range_of(def, &sub.items));
    }
    for (i, (sub, range)) in def.subscales.iter_mut().zip(ranges).enumerate() {
        check_bands(errors, "subscales.bands", &format!("Subscale {}", i + 1), &mut sub.bands, range);
    }
}

fn check_missing_items(errors: &mut FieldErrors, def: &mut InstrumentDefinition) {
    const F: &str = "missing_items";
    let rule = &mut def.missing_items;
    text(
        errors,
        F,
        "the missing-items rule as shown on screen",
        &mut rule.statement,
        STATEMENT_MAX,
        Need::Required,
        Lines::Many,
    );
    text(
        errors,
        F,
        "where the missing-items rule comes from",
        &mut rule.source,
        SOURCE_MAX,
        Need::Required,
        Lines::Many,
    );
    let allowed = def.missing_items.max_prorated;
    if allowed == 0 {
        return;
    }
    let mut scales: Vec<(String, Vec<u32>)> = Vec::new();
    if def.scoring.total {
        scales.push(("The total".into(), def.items.iter().map(|i| i.number).collect()));
    }
    for (i, sub) in def.subscales.iter().enumerate() {
        scales.push((format!("Subscale {}", i + 1), sub.items.clone()));
    }
    for (what, numbers) in scales {
        let n = u32::try_from(numbers.len()).unwrap_or(u32::MAX);
        if allowed.saturating_mul(4) > n {
            errors.push(FieldError::new(
                F,
                format!("{what}: prorate at most a quarter of a scale's items ({} of {n}).", n / 4),
            ));
        }
        let kinds: BTreeSet<&str> = numbers
            .iter()
            .filter_map(|x| def.items.iter().find(|i| i.number == *x))
            .map(|i| i.scale.as_str())
            .collect();
        if kinds.len() > 1 {
            errors.push(FieldError::new(
                F,
                format!("{what}: proration needs all of a scale's items on the same response scale."),
            ));
        }
    }
}

fn check_risk_items(errors: &mut FieldErrors, def: &mut InstrumentDefinition) {
    const F: &str = "risk_items";
    if def.risk_items.len() > RISK_ITEMS_MAX {
        errors.push(FieldError::new(F, format!("Keep to {RISK_ITEMS_MAX} risk items.")));
    }
    let mut seen = BTreeSet::new();
    for risk in &mut def.risk_items {
        let number = risk.item;
        text(
            errors,
            F,
            &format!("the flag message of risk item {number}"),
            &mut risk.message,
            RISK_MESSAGE_MAX,
            Need::Required,
            Lines::One,
        );
        if !seen.insert(number) {
            errors.push(FieldError::new(F, format!("Item {number} is a risk item twice.")));
        }
        let scale = def
            .items
            .iter()
            .find(|i| i.number == number)
            .map(|item| def.response_scales.iter().find(|s| s.id == item.scale));
        match scale {
            None => errors.push(FieldError::new(F, format!("Risk item {number} does not exist."))),
            Some(None) => {} // the item's unknown scale is reported under items
            Some(Some(scale)) => {
                let (min, max) = scale.bounds();
                if risk.threshold <= min || risk.threshold > max {
                    errors.push(FieldError::new(
                        F,
                        format!("Risk item {number}: the threshold is an answer above {min} and at most {max}."),
                    ));
                }
            }
        }
    }
}

fn check_change_norms(errors: &mut FieldErrors, def: &mut InstrumentDefinition) {
    const F: &str = "change_norms";
    let mut seen = BTreeSet::new();
    let mut checked = Vec::new();
    for norms in &mut def.change_norms {
        norms.scale = norms.scale.trim().to_owned();
        let what = norms.scale.clone();
        if !seen.insert(what.clone()) {
            errors.push(FieldError::new(F, format!("Norms for {what} are given twice.")));
        }
        if !(norms.reliability.is_finite() && norms.reliability > 0.0 && norms.reliability < 1.0) {
            errors.push(FieldError::new(F, format!("Norms for {what}: the reliability is a number between 0 and 1.")));
        }
        if !(norms.sd.is_finite() && norms.sd > 0.0) {
            errors.push(FieldError::new(F, format!("Norms for {what}: the standard deviation is more than 0.")));
        }
        text(
            errors,
            F,
            "the source of each reliability",
            &mut norms.reliability_source,
            SOURCE_MAX,
            Need::Required,
            Lines::Many,
        );
        text(
            errors,
            F,
            "the source of each standard deviation",
            &mut norms.sd_source,
            SOURCE_MAX,
            Need::Required,
            Lines::Many,
        );
        text(
            errors,
            F,
            "the source of each clinical cut-off",
            &mut norms.cutoff_source,
            SOURCE_MAX,
            Need::Required,
            Lines::Many,
        );
        checked.push((what, norms.sd, norms.clinical_cutoff));
    }
    for (what, sd, cutoff) in checked {
        let Some(items) = items_of(def, &what) else {
            errors.push(FieldError::new(F, format!("Norms for {what}: there is no such scored scale.")));
            continue;
        };
        let (lo, hi) = range_of(def, &items);
        if cutoff <= lo || cutoff >= hi {
            errors.push(FieldError::new(
                F,
                format!("Norms for {what}: the clinical cut-off lies between {lo} and {hi}."),
            ));
        }
        if sd.is_finite() && sd > f64::from(hi.saturating_sub(lo)) {
            errors.push(FieldError::new(
                F,
                format!("Norms for {what}: the standard deviation is larger than the score range."),
            ));
        }
    }
}

/// Bands cover the scale's range exactly: the first starts at its lowest
/// score, each next one starts one point after the previous one ends, the
/// last ends at its highest score. None at all is allowed.
fn check_bands(errors: &mut FieldErrors, field: &'static str, what: &str, bands: &mut [Band], (lo, hi): (u32, u32)) {
    if bands.is_empty() {
        return;
    }
    if bands.len() > BANDS_MAX {
        errors.push(FieldError::new(field, format!("{what}: keep to {BANDS_MAX} bands.")));
    }
    for band in bands.iter_mut() {
        text(
            errors,
            field,
            &format!("a label for each band of {}", what.to_lowercase()),
            &mut band.label,
            BAND_LABEL_MAX,
            Need::Required,
            Lines::One,
        );
        if band.min > band.max {
            errors.push(FieldError::new(
                field,
                format!("{what}: a band ends before it starts ({}–{}).", band.min, band.max),
            ));
        }
    }
    if let Some(first) = bands.first()
        && first.min != lo
    {
        errors
            .push(FieldError::new(field, format!("{what}: the first band starts at {lo}, the lowest possible score.")));
    }
    for pair in bands.windows(2) {
        if pair[0].max.checked_add(1) != Some(pair[1].min) {
            errors.push(FieldError::new(
                field,
                format!(
                    "{what}: the bands {}–{} and {}–{} leave a gap or overlap; each band starts one point after the one before ends.",
                    pair[0].min, pair[0].max, pair[1].min, pair[1].max
                ),
            ));
        }
    }
    if let Some(last) = bands.last()
        && last.max != hi
    {
        errors.push(FieldError::new(field, format!("{what}: the last band ends at {hi}, the highest possible score.")));
    }
}

fn is_slug(s: &str) -> bool {
    (2..=ID_MAX).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Required,
    Optional,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lines {
    One,
    /// Line breaks allowed.
    Many,
}

/// Trims a text in place and checks it: present if required, at most `max`
/// characters, no control characters (line breaks only where allowed).
fn text(
    errors: &mut FieldErrors,
    field: &'static str,
    label: &str,
    value: &mut String,
    max: usize,
    need: Need,
    lines: Lines,
) {
    if value.contains('\r') {
        *value = value.replace("\r\n", "\n");
    }
    // Trimmed, length and presence as every record's text is checked.
    match need {
        Need::Required => check_required(errors, field, label, value, max),
        Need::Optional => check_text(errors, field, label, value, max),
    }
    if value.chars().any(|c| c.is_control() && !(lines == Lines::Many && c == '\n')) {
        errors.push(FieldError::new(field, format!("Remove control characters from {label}.")));
    }
}
