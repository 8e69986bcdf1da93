//! Table-driven tests of the shipped instruments and of validation.
//!
//! The expected item lists, ranges and band boundaries below are written
//! from the manuals, not read from the definition files, so a wrong file
//! fails here.

use super::*;

fn lib() -> &'static Library {
    library().unwrap()
}

fn inst(id: &str) -> &'static Instrument {
    lib().get(id).unwrap_or_else(|| panic!("{id} is shipped"))
}

/// Answers with these items summing to `raw` (greedily, each up to its
/// scale's maximum) and every other item 0.
fn answers_for(inst: &Instrument, items: &[u32], raw: u32) -> Vec<Option<u32>> {
    let def = inst.definition();
    let mut answers = vec![Some(0); def.items.len()];
    let mut left = raw;
    for n in items {
        let index = usize::try_from(*n - 1).unwrap();
        let scale = &def.items[index].scale;
        let max = def.response_scales.iter().find(|s| &s.id == scale).unwrap().bounds().1;
        let v = left.min(max);
        answers[index] = Some(v);
        left -= v;
    }
    assert_eq!(left, 0, "{} cannot reach {raw} on items {items:?}", inst.id());
    answers
}

fn all(inst: &Instrument, value: Option<u32>) -> Vec<Option<u32>> {
    vec![value; inst.definition().items.len()]
}

fn fields(errors: &FieldErrors) -> Vec<&'static str> {
    errors.0.iter().map(|e| e.field).collect()
}

/// One scored scale as its manual defines it.
struct Expect {
    id: &'static str,
    scale: &'static str,
    items: &'static [u32],
    max: u32,
    /// Scores move in steps of this (DASS-21: doubled sums).
    step: u32,
    /// (min, max, label), lowest first; empty when the manual gives none.
    bands: &'static [(u32, u32, &'static str)],
}

const PCL5_BELOW: &str = "Below the provisional PTSD cut-point";
const PCL5_ABOVE: &str = "At or above the provisional PTSD cut-point (probable PTSD; confirm by clinical interview)";

const EXPECTED: &[Expect] = &[
    // Kroenke, Spitzer & Williams (2001): 5, 10, 15, 20.
    Expect {
        id: "phq-9",
        scale: "total",
        items: &[1, 2, 3, 4, 5, 6, 7, 8, 9],
        max: 27,
        step: 1,
        bands: &[
            (0, 4, "Minimal"),
            (5, 9, "Mild"),
            (10, 14, "Moderate"),
            (15, 19, "Moderately severe"),
            (20, 27, "Severe"),
        ],
    },
    // Spitzer et al. (2006): 5, 10, 15.
    Expect {
        id: "gad-7",
        scale: "total",
        items: &[1, 2, 3, 4, 5, 6, 7],
        max: 21,
        step: 1,
        bands: &[(0, 4, "Minimal"), (5, 9, "Mild"), (10, 14, "Moderate"), (15, 21, "Severe")],
    },
    // Weathers et al. (2013): total 0-80, provisional cut-point 33;
    // DSM-5 clusters B 1-5, C 6-7, D 8-14, E 15-20.
    Expect {
        id: "pcl-5",
        scale: "total",
        items: &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20],
        max: 80,
        step: 1,
        bands: &[(0, 32, PCL5_BELOW), (33, 80, PCL5_ABOVE)],
    },
    Expect { id: "pcl-5", scale: "intrusions", items: &[1, 2, 3, 4, 5], max: 20, step: 1, bands: &[] },
    Expect { id: "pcl-5", scale: "avoidance", items: &[6, 7], max: 8, step: 1, bands: &[] },
    Expect { id: "pcl-5", scale: "cognitions-mood", items: &[8, 9, 10, 11, 12, 13, 14], max: 28, step: 1, bands: &[] },
    Expect { id: "pcl-5", scale: "arousal-reactivity", items: &[15, 16, 17, 18, 19, 20], max: 24, step: 1, bands: &[] },
    // Lovibond & Lovibond (1995): sums doubled; severity labels.
    Expect {
        id: "dass-21",
        scale: "depression",
        items: &[3, 5, 10, 13, 16, 17, 21],
        max: 42,
        step: 2,
        bands: &[
            (0, 9, "Normal"),
            (10, 13, "Mild"),
            (14, 20, "Moderate"),
            (21, 27, "Severe"),
            (28, 42, "Extremely severe"),
        ],
    },
    Expect {
        id: "dass-21",
        scale: "anxiety",
        items: &[2, 4, 7, 9, 15, 19, 20],
        max: 42,
        step: 2,
        bands: &[
            (0, 7, "Normal"),
            (8, 9, "Mild"),
            (10, 14, "Moderate"),
            (15, 19, "Severe"),
            (20, 42, "Extremely severe"),
        ],
    },
    Expect {
        id: "dass-21",
        scale: "stress",
        items: &[1, 6, 8, 11, 12, 14, 18],
        max: 42,
        step: 2,
        bands: &[
            (0, 14, "Normal"),
            (15, 18, "Mild"),
            (19, 25, "Moderate"),
            (26, 33, "Severe"),
            (34, 42, "Extremely severe"),
        ],
    },
    // Mundt et al. (2002): <10, 10-20, >20.
    Expect {
        id: "wsas",
        scale: "total",
        items: &[1, 2, 3, 4, 5],
        max: 40,
        step: 1,
        bands: &[
            (0, 9, "Subclinical"),
            (10, 20, "Significant functional impairment"),
            (21, 40, "Moderately severe impairment or worse"),
        ],
    },
];

fn expected_label(e: &Expect, points: u32) -> Option<&'static str> {
    e.bands.iter().find(|(lo, hi, _)| (*lo..=*hi).contains(&points)).map(|b| b.2)
}

fn score_of(e: &Expect, points: u32) -> ScaleScore {
    let i = inst(e.id);
    let score = i.score(&answers_for(i, e.items, points / e.step)).unwrap();
    score.scale(e.scale).unwrap().clone()
}

#[test]
fn every_shipped_file_validates_and_round_trips() {
    let ids: Vec<&str> = lib().all().iter().map(Instrument::id).collect();
    assert_eq!(ids, ["phq-9", "gad-7", "pcl-5", "dass-21", "wsas"]);
    for (file, text) in library::FILES {
        let parsed = Instrument::from_toml(text).unwrap_or_else(|e| panic!("{file}: {e:?}"));
        assert_eq!(Some(&parsed), lib().get(parsed.id()));
        assert_eq!(format!("{}.toml", parsed.id()), *file);
        // Custom instruments are stored as the same structure: TOML and JSON.
        let toml_text = toml::to_string(parsed.definition()).unwrap();
        assert_eq!(Instrument::from_toml(&toml_text).unwrap(), parsed, "{file} through TOML");
        let json = serde_json::to_string(&parsed).unwrap();
        assert_eq!(serde_json::from_str::<Instrument>(&json).unwrap(), parsed, "{file} through JSON");
    }
}

#[test]
fn item_lists_and_ranges_are_the_manuals() {
    for e in EXPECTED {
        let i = inst(e.id);
        let items: Vec<u32> = if e.scale == TOTAL {
            i.definition().items.iter().map(|x| x.number).collect()
        } else {
            i.definition().subscales.iter().find(|s| s.id == e.scale).unwrap().items.clone()
        };
        assert_eq!(items, e.items, "{} {}", e.id, e.scale);
        assert_eq!(i.range(e.scale), Some((0, e.max)), "{} {}", e.id, e.scale);
    }
    // Every scored scale of every instrument is in the table above.
    for i in lib().all() {
        for s in i.score(&all(i, Some(0))).unwrap().scales() {
            assert!(EXPECTED.iter().any(|e| e.id == i.id() && e.scale == s.scale), "{} {} untested", i.id(), s.scale);
        }
    }
}

#[test]
fn bands_are_the_manuals_at_every_score() {
    for e in EXPECTED {
        let i = inst(e.id);
        for points in 0..=e.max {
            assert_eq!(
                i.band(e.scale, points).map(|b| b.label.as_str()),
                expected_label(e, points),
                "{} {} {points}",
                e.id,
                e.scale
            );
        }
        assert_eq!(i.band(e.scale, e.max + 1), None, "{} {}: beyond the range", e.id, e.scale);
    }
}

#[test]
fn every_band_boundary_scores_on_both_sides() {
    for e in EXPECTED {
        for pair in e.bands.windows(2) {
            let (below, above) = (pair[0], pair[1]);
            // The highest reachable score of the lower band, the lowest of the upper.
            let last = below.1 - below.1 % e.step;
            let first = above.0.div_ceil(e.step) * e.step;
            for (points, label) in [(last, below.2), (first, above.2)] {
                let s = score_of(e, points);
                assert_eq!(s.points, Some(points), "{} {} {points}", e.id, e.scale);
                assert_eq!(s.band.map(|b| b.label).as_deref(), Some(label), "{} {} {points}", e.id, e.scale);
                assert!(!s.prorated);
            }
        }
    }
}

#[test]
fn every_reachable_score_is_scored_exactly() {
    for e in EXPECTED {
        for points in (0..=e.max).step_by(usize::try_from(e.step).unwrap()) {
            let s = score_of(e, points);
            assert_eq!(s.points, Some(points), "{} {} {points}", e.id, e.scale);
            assert_eq!((s.min, s.max), (0, e.max));
            assert_eq!(s.band.map(|b| b.label).as_deref(), expected_label(e, points), "{} {} {points}", e.id, e.scale);
        }
    }
}

#[test]
fn all_zeros_and_all_maximum() {
    for i in lib().all() {
        let zeros = i.score(&all(i, Some(0))).unwrap();
        let max_value = i.definition().response_scales[0].bounds().1;
        let maxed = i.score(&all(i, Some(max_value))).unwrap();
        assert!(zeros.missing_items.is_empty() && !zeros.prorated());
        assert!(zeros.risk_flags.is_empty(), "{}: no flag on all zeros", i.id());
        for (z, m) in zeros.scales().zip(maxed.scales()) {
            assert_eq!(z.points, Some(0), "{} {}", i.id(), z.scale);
            assert_eq!(m.points, Some(m.max), "{} {}", i.id(), m.scale);
            let e = EXPECTED.iter().find(|e| e.id == i.id() && e.scale == z.scale).unwrap();
            assert_eq!(m.max, e.max);
            assert_eq!(z.band.as_ref().map(|b| b.label.as_str()), e.bands.first().map(|b| b.2));
            assert_eq!(m.band.as_ref().map(|b| b.label.as_str()), e.bands.last().map(|b| b.2));
        }
    }
    let phq9 = inst("phq-9");
    assert_eq!(phq9.score(&all(phq9, Some(3))).unwrap().risk_flags.len(), 1, "item 9 at its maximum flags");
}

#[test]
fn phq9_prorates_one_or_two_missing_items_and_no_more() {
    let phq9 = inst("phq-9");
    // (answers, total, prorated): sum × 9 / answered, halves up.
    type Case = (&'static [Option<u32>], Option<u32>, bool);
    let cases: &[Case] = &[
        // 8 answered, sum 8: 72 / 8 = 9.
        (&[Some(1), Some(1), Some(1), Some(1), Some(1), Some(1), Some(1), Some(1), None], Some(9), true),
        // 8 answered, sum 4: 36 / 8 = 4.5, rounded up to 5 (a band boundary).
        (&[Some(1), Some(1), Some(1), Some(1), Some(0), Some(0), Some(0), None, Some(0)], Some(5), true),
        // 7 answered, sum 14: 126 / 7 = 18.
        (&[None, Some(2), Some(2), Some(2), Some(2), Some(2), Some(2), Some(2), None], Some(18), true),
        // 7 answered, sum 5: 45 / 7 = 6.43, rounded down to 6.
        (&[Some(1), Some(1), Some(1), Some(1), Some(1), Some(0), Some(0), None, None], Some(6), true),
        // 7 answered, all 3: 189 / 7 = 27, never above the maximum.
        (&[None, Some(3), Some(3), Some(3), Some(3), Some(3), Some(3), Some(3), None], Some(27), true),
        // 3 missing: no total.
        (&[None, None, None, Some(3), Some(3), Some(3), Some(3), Some(3), Some(3)], None, false),
        // Nothing answered.
        (&[None, None, None, None, None, None, None, None, None], None, false),
    ];
    for (answers, total, prorated) in cases {
        let score = phq9.score(answers).unwrap();
        let t = score.total.clone().unwrap();
        assert_eq!(t.points, *total, "{answers:?}");
        assert_eq!(t.prorated, *prorated, "{answers:?}");
        assert_eq!(t.band.is_some(), total.is_some());
        assert_eq!(score.missing(), answers.iter().filter(|a| a.is_none()).count());
        assert_eq!(u32::try_from(score.missing()).unwrap(), t.missing);
    }
    let half = phq9.score(cases[1].0).unwrap();
    assert_eq!(half.total.unwrap().band.unwrap().label, "Mild");
}

#[test]
fn instruments_without_a_proration_rule_score_only_complete_scales() {
    // GAD-7 and WSAS: one unanswered item, no total.
    for id in ["gad-7", "wsas"] {
        let i = inst(id);
        let mut answers = all(i, Some(1));
        answers[0] = None;
        let score = i.score(&answers).unwrap();
        let t = score.total.unwrap();
        assert_eq!((t.points, t.band, t.missing, t.prorated), (None, None, 1, false), "{id}");
        assert_eq!(score.missing_items, [1]);
    }
    // PCL-5: item 6 unanswered: no total, no cluster C; B, D, E still scored.
    let pcl5 = inst("pcl-5");
    let mut answers = all(pcl5, Some(2));
    answers[5] = None;
    let score = pcl5.score(&answers).unwrap();
    let points = |s: &str| score.scale(s).unwrap().points;
    assert_eq!(points("total"), None);
    assert_eq!(points("avoidance"), None);
    assert_eq!(score.scale("avoidance").unwrap().missing, 1);
    assert_eq!(
        (points("intrusions"), points("cognitions-mood"), points("arousal-reactivity")),
        (Some(10), Some(14), Some(12))
    );
    // DASS-21: item 21 (Depression) unanswered: no Depression score only.
    let dass = inst("dass-21");
    let mut answers = all(dass, Some(1));
    answers[20] = None;
    let score = dass.score(&answers).unwrap();
    assert_eq!(score.scale("depression").unwrap().points, None);
    assert_eq!(score.scale("anxiety").unwrap().points, Some(14));
    assert_eq!(score.scale("stress").unwrap().points, Some(14));
    // Each file states its rule for the screen.
    for i in lib().all() {
        assert!(!i.definition().missing_items.statement.is_empty());
    }
}

#[test]
fn answers_that_are_not_options_are_refused_naming_the_item() {
    let phq9 = inst("phq-9");
    let mut answers = all(phq9, Some(0));
    answers[3] = Some(4);
    answers[6] = Some(9);
    let err = phq9.score(&answers).unwrap_err();
    assert_eq!(err, AnswerError::NotAnOption { items: vec![4, 7] });
    let errors = FieldErrors::from(err);
    assert_eq!(fields(&errors), ["answers", "answers"]);
    assert!(errors.0[0].message.starts_with("Item 4:"), "{}", errors.0[0].message);
    assert!(
        errors.0[1].message.starts_with("Item 7:") && !errors.0[1].message.contains('9'),
        "the value is not echoed"
    );

    for (id, bad) in [("gad-7", 4), ("pcl-5", 5), ("dass-21", 4), ("wsas", 9)] {
        let i = inst(id);
        let mut answers = all(i, Some(0));
        answers[1] = Some(bad);
        assert_eq!(i.score(&answers).unwrap_err(), AnswerError::NotAnOption { items: vec![2] }, "{id}");
    }
    assert_eq!(phq9.score(&[Some(0); 8]).unwrap_err(), AnswerError::WrongCount { expected: 9, got: 8 });
    assert_eq!(fields(&FieldErrors::from(phq9.score(&[]).unwrap_err())), ["answers"]);
}

#[test]
fn phq9_item_9_raises_a_risk_flag_whatever_the_total() {
    let phq9 = inst("phq-9");
    let with_item9 = |v: Option<u32>| {
        let mut a = all(phq9, Some(0));
        a[8] = v;
        phq9.score(&a).unwrap()
    };
    assert!(with_item9(Some(0)).risk_flags.is_empty());
    assert!(with_item9(None).risk_flags.is_empty());
    for v in 1..=3 {
        let flags = with_item9(Some(v)).risk_flags;
        assert_eq!(flags.len(), 1);
        assert_eq!(flags[0].item, 9);
        assert!(!flags[0].message.contains("Several") && !flags[0].message.contains("Nearly"), "no answer text");
    }
    // Also when too many items are missing for a total.
    let score = phq9.score(&[None, None, None, None, None, None, None, None, Some(1)]).unwrap();
    assert_eq!(score.total.unwrap().points, None);
    assert_eq!(score.risk_flags.len(), 1);
    // Only the PHQ-9 defines a risk item among the shipped instruments.
    for i in lib().all() {
        let risk: Vec<(u32, u32)> = i.definition().risk_items.iter().map(|r| (r.item, r.threshold)).collect();
        assert_eq!(risk, if i.id() == "phq-9" { vec![(9, 1)] } else { vec![] }, "{}", i.id());
    }
}

#[test]
fn dass21_sums_each_scale_and_doubles_it_without_a_total() {
    let dass = inst("dass-21");
    assert_eq!(dass.definition().scoring.multiplier, 2);
    // Depression items 1 each, anxiety items 3 each, stress 0.
    let mut answers = all(dass, Some(0));
    for n in [3, 5, 10, 13, 16, 17, 21] {
        answers[n - 1] = Some(1);
    }
    for n in [2, 4, 7, 9, 15, 19, 20] {
        answers[n - 1] = Some(3);
    }
    let score = dass.score(&answers).unwrap();
    assert!(score.total.is_none(), "the manual scores the three scales only");
    let scale = |s: &str| score.scale(s).unwrap().clone();
    assert_eq!(
        (scale("depression").points, scale("anxiety").points, scale("stress").points),
        (Some(14), Some(42), Some(0))
    );
    assert_eq!(scale("depression").band.unwrap().label, "Moderate");
    assert_eq!(scale("anxiety").band.unwrap().label, "Extremely severe");
    assert_eq!(scale("stress").band.unwrap().label, "Normal");
    // A single point on one item is two points on its scale.
    let mut one = all(dass, Some(0));
    one[0] = Some(1);
    assert_eq!(dass.score(&one).unwrap().scale("stress").unwrap().points, Some(2));
}

#[test]
fn pcl5_total_is_the_sum_of_its_clusters() {
    let pcl5 = inst("pcl-5");
    let answers: Vec<Option<u32>> = (1..=20u32).map(|n| Some(n % 5)).collect();
    let score = pcl5.score(&answers).unwrap();
    let p = |s: &str| score.scale(s).unwrap().points.unwrap();
    // Items 1-5: 1+2+3+4+0; 6-7: 1+2; 8-14: 3+4+0+1+2+3+4; 15-20: 0+1+2+3+4+0.
    assert_eq!((p("intrusions"), p("avoidance"), p("cognitions-mood"), p("arousal-reactivity")), (10, 3, 17, 10));
    assert_eq!(p("total"), 40);
    assert_eq!(score.scale("total").unwrap().band.as_ref().unwrap().label, PCL5_ABOVE);
    let maxed = pcl5.score(&all(pcl5, Some(4))).unwrap();
    let m = |s: &str| maxed.scale(s).unwrap().points.unwrap();
    assert_eq!(
        (m("total"), m("intrusions"), m("avoidance"), m("cognitions-mood"), m("arousal-reactivity")),
        (80, 20, 8, 28, 24)
    );
}

#[test]
fn wsas_has_five_items_scored_0_to_8() {
    let wsas = inst("wsas");
    let def = wsas.definition();
    assert_eq!(def.items.len(), 5);
    let values: Vec<u32> = def.response_scales[0].options.iter().map(|o| o.value).collect();
    assert_eq!(values, (0..=8).collect::<Vec<_>>());
    let labelled: Vec<u32> =
        def.response_scales[0].options.iter().filter(|o| !o.label.is_empty()).map(|o| o.value).collect();
    assert_eq!(labelled, [0, 2, 4, 6, 8], "the published anchors");
    let score = wsas.score(&[Some(8), Some(7), Some(5), Some(0), Some(1)]).unwrap();
    assert_eq!(score.total.unwrap().points, Some(21));
}

#[test]
fn reliable_change_index_by_hand() {
    // SD 5, r .84: SE = 5 × √.16 = 2, S_diff = √2 × 2 = 2.8284.
    let norms = ChangeNorms {
        scale: "total".into(),
        reliability: 0.84,
        reliability_source: "s".into(),
        sd: 5.0,
        sd_source: "s".into(),
        clinical_cutoff: 10,
        cutoff_source: "s".into(),
    };
    assert!((norms.standard_error() - 2.0).abs() < 1e-12);
    assert!((norms.s_diff() - 2.828_427_1).abs() < 1e-6);
    // 1.96 × 2.8284 = 5.54: 6 points are reliable, 5 are not.
    assert_eq!(norms.reliable_change_points(), 6);
    let cases = [
        // before, after, RCI, change, clinically significant
        (20, 14, -2.121_320, ReliableChange::Improved, false), // still at or above 10
        (14, 8, -2.121_320, ReliableChange::Improved, true),   // from 14 to below 10
        (20, 15, -1.767_767, ReliableChange::NoReliableChange, false),
        (11, 9, -std::f64::consts::FRAC_1_SQRT_2, ReliableChange::NoReliableChange, false), // crosses, not reliable
        (8, 14, 2.121_320, ReliableChange::Deteriorated, false),
        (10, 10, 0.0, ReliableChange::NoReliableChange, false),
    ];
    for (before, after, rci, change, significant) in cases {
        let c = norms.assess("total", Direction::HigherIsWorse, before, after);
        assert!((c.rci - rci).abs() < 1e-5, "{before}->{after}: {}", c.rci);
        assert_eq!((c.reliable_change, c.clinically_significant), (change, significant), "{before}->{after}");
    }
    // Higher is better: rising 35 -> 45 across a cut-off of 40 is a
    // clinically significant improvement.
    let better = ChangeNorms { clinical_cutoff: 40, ..norms };
    let c = better.assess("total", Direction::HigherIsBetter, 35, 45);
    assert!((c.rci - 3.535_534).abs() < 1e-5);
    assert_eq!((c.reliable_change, c.clinically_significant), (ReliableChange::Improved, true));
    assert_eq!(better.assess("total", Direction::HigherIsBetter, 45, 35).reliable_change, ReliableChange::Deteriorated);
}

#[test]
fn shipped_change_norms_by_hand() {
    // PHQ-9: SD 3.52, α .89: S_diff = √2 × 3.52 × √.11 = 1.65103.
    let phq9 = inst("phq-9");
    assert!((phq9.norms("total").unwrap().s_diff() - 1.651_030).abs() < 1e-5);
    let c = phq9.change("total", 12, 8).unwrap();
    assert!((c.rci - -2.422_732).abs() < 1e-5, "{}", c.rci);
    assert_eq!((c.reliable_change, c.clinically_significant), (ReliableChange::Improved, true));
    let c = phq9.change("total", 12, 9).unwrap();
    assert!((c.rci - -1.817_049).abs() < 1e-5, "{}", c.rci);
    assert_eq!(c.reliable_change, ReliableChange::NoReliableChange);
    // The reliable change in points each file's source note states.
    for (id, scale, points) in [
        ("phq-9", "total", 4),
        ("gad-7", "total", 3),
        ("pcl-5", "total", 11),
        ("dass-21", "depression", 8),
        ("dass-21", "anxiety", 7),
        ("dass-21", "stress", 8),
    ] {
        let norms = inst(id).norms(scale).unwrap();
        assert_eq!(norms.reliable_change_points(), points, "{id} {scale}");
        assert!(norms.sd_source.contains(&format!("change of {points} points")), "{id} {scale}");
    }
    // Cut-offs: PHQ-9 and GAD-7 10, PCL-5 33, DASS-21 the start of "mild".
    let cutoffs: Vec<(&str, &str, u32)> = lib()
        .all()
        .iter()
        .flat_map(|i| i.definition().change_norms.iter().map(move |n| (i.id(), n.scale.as_str(), n.clinical_cutoff)))
        .collect();
    assert_eq!(
        cutoffs,
        [
            ("phq-9", "total", 10),
            ("gad-7", "total", 10),
            ("pcl-5", "total", 33),
            ("dass-21", "depression", 10),
            ("dass-21", "anxiety", 8),
            ("dass-21", "stress", 15),
        ]
    );
    assert!(inst("wsas").change("total", 30, 10).is_none(), "no norms cited for the WSAS");
}

#[test]
fn changes_between_two_results_cover_every_scale_with_norms() {
    let dass = inst("dass-21");
    let before = dass.score(&all(dass, Some(2))).unwrap(); // 28 on each scale
    let mut later = all(dass, Some(0));
    later[20] = None; // Depression not scorable
    let after = dass.score(&later).unwrap();
    let changes = dass.changes(&before, &after);
    let summary: Vec<(&str, ReliableChange, bool)> =
        changes.iter().map(|c| (c.scale.as_str(), c.reliable_change, c.clinically_significant)).collect();
    assert_eq!(summary, [("anxiety", ReliableChange::Improved, true), ("stress", ReliableChange::Improved, true)]);
}

// ---- Validation of custom definitions -------------------------------------

fn band(min: u32, max: u32, label: &str) -> Band {
    Band { min, max, label: label.into() }
}

/// A therapist's own instrument: 8 items scored 0-4, a 4-item subscale.
fn custom() -> InstrumentDefinition {
    InstrumentDefinition {
        id: "sleep-worry".into(),
        version: 1,
        name: "Sleep worry check".into(),
        short_name: "SWC".into(),
        instructions: "How much has each of these bothered you?".into(),
        time_frame: "This week".into(),
        licence: "Written by the therapist.".into(),
        references: vec![],
        response_scales: vec![ResponseScale {
            id: "amount".into(),
            options: (0..=4).map(|v| ResponseOption { value: v, label: format!("Level {v}") }).collect(),
        }],
        items: (1..=8).map(|n| Item { number: n, text: format!("Question {n}"), scale: "amount".into() }).collect(),
        scoring: Scoring {
            total: true,
            multiplier: 1,
            direction: Direction::HigherIsWorse,
            bands: vec![band(0, 9, "Low"), band(10, 19, "Medium"), band(20, 32, "High")],
            source: "The therapist's own.".into(),
        },
        subscales: vec![Subscale {
            id: "night".into(),
            name: "At night".into(),
            items: vec![1, 2, 3, 4],
            bands: vec![band(0, 7, "Low"), band(8, 16, "High")],
        }],
        missing_items: MissingItems {
            max_prorated: 1,
            statement: "One unanswered item per scale is prorated.".into(),
            source: "The therapist's choice.".into(),
        },
        risk_items: vec![RiskItem { item: 8, threshold: 3, message: "Item 8 was endorsed.".into() }],
        change_norms: vec![ChangeNorms {
            scale: "total".into(),
            reliability: 0.8,
            reliability_source: "Own data.".into(),
            sd: 6.0,
            sd_source: "Own data.".into(),
            clinical_cutoff: 10,
            cutoff_source: "Own choice.".into(),
        }],
    }
}

fn errors_of(change: impl FnOnce(&mut InstrumentDefinition)) -> FieldErrors {
    let mut def = custom();
    change(&mut def);
    Instrument::new(def).unwrap_err()
}

#[test]
fn a_sound_custom_instrument_validates_and_scores() {
    let i = Instrument::new(custom()).unwrap();
    let score = i.score(&[Some(4), Some(4), None, Some(4), Some(0), Some(0), Some(0), Some(3)]).unwrap();
    // Total: 7 answered, sum 15: 15 × 8 / 7 = 17.14 -> 17. Night: 12 × 4 / 3 = 16.
    assert_eq!(score.total.as_ref().unwrap().points, Some(17));
    assert_eq!(score.scale("night").unwrap().points, Some(16));
    assert!(score.prorated());
    assert_eq!(score.risk_flags.len(), 1);
    // Text is tidied; items come back in number order.
    let mut messy = custom();
    messy.name = "  Sleep worry check \r\n".into();
    messy.items.reverse();
    let tidy = Instrument::new(messy).unwrap();
    assert_eq!(tidy.definition().name, "Sleep worry check");
    assert_eq!(tidy.definition().items[0].number, 1);
    // Stored as JSON and read back, it is validated again.
    let mut broken = serde_json::to_value(custom()).unwrap();
    broken["scoring"]["bands"][1]["min"] = 11.into();
    assert!(serde_json::from_value::<Instrument>(broken).is_err());
}

#[test]
fn broken_custom_definitions_name_the_field() {
    type Edit = fn(&mut InstrumentDefinition);
    let cases: &[(&str, Edit, &str)] = &[
        ("gap between bands", |d| d.scoring.bands[1].min = 11, "scoring.bands"),
        ("overlapping bands", |d| d.scoring.bands[1].min = 9, "scoring.bands"),
        ("bands short of the maximum", |d| d.scoring.bands[2].max = 31, "scoring.bands"),
        ("bands past the maximum", |d| d.scoring.bands[2].max = 40, "scoring.bands"),
        ("bands not from 0", |d| d.scoring.bands[0].min = 1, "scoring.bands"),
        ("band ends before it starts", |d| d.scoring.bands[1] = band(19, 10, "Medium"), "scoring.bands"),
        ("bands of the raw sum with a multiplier", |d| d.scoring.multiplier = 2, "scoring.bands"),
        ("band without a label", |d| d.scoring.bands[0].label = " ".into(), "scoring.bands"),
        ("subscale band gap", |d| d.subscales[0].bands[1].min = 9, "subscales.bands"),
        ("unknown item in a subscale", |d| d.subscales[0].items.push(9), "subscales"),
        ("item twice in a subscale", |d| d.subscales[0].items.push(1), "subscales"),
        ("subscale called total", |d| d.subscales[0].id = "total".into(), "subscales"),
        ("subscale without items", |d| d.subscales[0].items.clear(), "subscales"),
        ("duplicate item numbers", |d| d.items[7].number = 7, "items"),
        ("items not numbered from 1", |d| d.items.iter_mut().for_each(|i| i.number += 1), "items"),
        ("item on an unknown scale", |d| d.items[2].scale = "agreement".into(), "items"),
        ("item without text", |d| d.items[2].text.clear(), "items"),
        ("no items", |d| d.items.clear(), "items"),
        (
            "101 items",
            |d| d.items = (1..=101).map(|n| Item { number: n, text: "Q".into(), scale: "amount".into() }).collect(),
            "items",
        ),
        ("item text too long", |d| d.items[0].text = "x".repeat(501), "items"),
        ("options not ascending", |d| d.response_scales[0].options.swap(0, 1), "response_scales"),
        ("one option", |d| d.response_scales[0].options.truncate(1), "response_scales"),
        ("value above 100", |d| d.response_scales[0].options[4].value = 101, "response_scales"),
        ("unlabelled end option", |d| d.response_scales[0].options[4].label.clear(), "response_scales"),
        ("two scales with one id", |d| d.response_scales.push(d.response_scales[0].clone()), "response_scales"),
        ("risk item that does not exist", |d| d.risk_items[0].item = 9, "risk_items"),
        ("risk threshold above the scale", |d| d.risk_items[0].threshold = 5, "risk_items"),
        ("risk threshold at the lowest answer", |d| d.risk_items[0].threshold = 0, "risk_items"),
        ("risk item without a message", |d| d.risk_items[0].message.clear(), "risk_items"),
        ("reliability of 1", |d| d.change_norms[0].reliability = 1.0, "change_norms"),
        ("reliability of 0", |d| d.change_norms[0].reliability = 0.0, "change_norms"),
        ("reliability not a number", |d| d.change_norms[0].reliability = f64::NAN, "change_norms"),
        ("SD of 0", |d| d.change_norms[0].sd = 0.0, "change_norms"),
        ("SD beyond the range", |d| d.change_norms[0].sd = 33.0, "change_norms"),
        ("norms of an unknown scale", |d| d.change_norms[0].scale = "day".into(), "change_norms"),
        ("norms twice", |d| d.change_norms.push(d.change_norms[0].clone()), "change_norms"),
        ("cut-off outside the range", |d| d.change_norms[0].clinical_cutoff = 33, "change_norms"),
        ("norms without a source", |d| d.change_norms[0].sd_source.clear(), "change_norms"),
        ("prorating more than a quarter", |d| d.missing_items.max_prorated = 2, "missing_items"),
        ("no on-screen statement", |d| d.missing_items.statement.clear(), "missing_items"),
        ("bad id", |d| d.id = "Sleep Worry".into(), "id"),
        ("version 0", |d| d.version = 0, "version"),
        ("name too long", |d| d.name = "x".repeat(201), "name"),
        ("no licence note", |d| d.licence.clear(), "licence"),
        ("control character", |d| d.short_name = "SW\u{7}C".into(), "short_name"),
        ("multiplier 0", |d| d.scoring.multiplier = 0, "scoring.multiplier"),
        (
            "nothing scored",
            |d| {
                d.scoring.total = false;
                d.scoring.bands.clear();
                d.subscales.clear();
                d.change_norms.clear();
            },
            "scoring.total",
        ),
    ];
    for (what, edit, field) in cases {
        let errors = errors_of(edit);
        assert!(fields(&errors).contains(field), "{what}: expected {field}, got {:?}", errors.0);
    }
}

#[test]
fn proration_needs_one_response_scale_per_scale() {
    let errors = errors_of(|d| {
        d.response_scales.push(ResponseScale {
            id: "yes-no".into(),
            options: vec![
                ResponseOption { value: 0, label: "No".into() },
                ResponseOption { value: 1, label: "Yes".into() },
            ],
        });
        d.items[0].scale = "yes-no".into();
        d.scoring.bands = vec![band(0, 29, "All")];
        d.subscales[0].bands = vec![band(0, 13, "All")];
    });
    assert_eq!(fields(&errors), ["missing_items", "missing_items"], "{:?}", errors.0);
}

#[test]
fn every_problem_is_reported_at_once() {
    let errors = errors_of(|d| {
        d.id = "X".into();
        d.scoring.bands[1].min = 11;
        d.subscales[0].items.push(12);
        d.risk_items[0].item = 12;
    });
    assert_eq!(fields(&errors), ["id", "scoring.bands", "subscales", "risk_items"]);
}

#[test]
fn unreadable_toml_is_a_definition_error_with_its_line() {
    let text = library::FILES[0].1.replace("short_name =", "shortname =");
    let errors = Instrument::from_toml(&text).unwrap_err();
    assert_eq!(fields(&errors), ["definition"]);
    assert!(errors.0[0].message.contains("line 8"), "{}", errors.0[0].message);
    assert_eq!(fields(&Instrument::from_toml("id = ").unwrap_err()), ["definition"]);
}
