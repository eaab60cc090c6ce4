//! Classification metrics against scikit-learn: every case of tests/fixtures/metrics/sklearn_metrics.json (written
//! by make_fixtures.py with scikit-learn) must match to 1e-12, confusion matrices and supports exactly.

mod common;

use common::sklearn::{Average, Case, TOLERANCE, fixture};
use har_monitor::eval::{AveragedMetrics, ClassificationMetrics, ConfusionMatrix, per_user};

fn close(case: &str, what: &str, got: f64, want: f64) {
    assert!((got - want).abs() <= TOLERANCE, "{case}: {what} = {got}, scikit-learn says {want}");
}

fn close_average(case: &str, what: &str, got: &AveragedMetrics, want: &Average) {
    close(case, &format!("{what} precision"), got.precision, want.precision);
    close(case, &format!("{what} recall"), got.recall, want.recall);
    close(case, &format!("{what} f1"), got.f1, want.f1);
}

fn matrix(case: &Case) -> ConfusionMatrix {
    ConfusionMatrix::from_pairs(case.n_classes, case.y_true.iter().copied().zip(case.y_pred.iter().copied())).unwrap()
}

#[test]
fn fixture_covers_the_degenerate_cases() {
    let names: Vec<String> = fixture().cases.into_iter().map(|c| c.name).collect();
    for wanted in ["random_11_imbalanced", "classes_never_true", "classes_never_predicted", "perfect"] {
        assert!(names.iter().any(|n| n == wanted), "fixture lacks {wanted}");
    }
    assert!(names.len() >= 10);
}

#[test]
fn confusion_matrix_matches_sklearn() {
    for case in fixture().cases {
        let m = matrix(&case);
        assert_eq!(m.rows(), case.confusion_matrix, "{}", case.name);
        assert_eq!(m.total(), case.y_true.len() as u64, "{}", case.name);
        assert_eq!(m.true_totals(), case.support, "{}", case.name);
    }
}

#[test]
fn accuracy_and_kappa_match_sklearn() {
    for case in fixture().cases {
        let metrics = ClassificationMetrics::from_confusion(&matrix(&case));
        close(&case.name, "accuracy", metrics.accuracy, case.accuracy);
        match (metrics.cohen_kappa, case.cohen_kappa) {
            (Some(got), Some(want)) => close(&case.name, "kappa", got, want),
            (None, None) => {}
            (got, want) => panic!("{}: kappa {got:?}, scikit-learn says {want:?} (None = NaN)", case.name),
        }
    }
}

#[test]
fn per_class_metrics_match_sklearn_over_all_classes() {
    for case in fixture().cases {
        let metrics = ClassificationMetrics::from_confusion(&matrix(&case));
        assert_eq!(metrics.per_class.len(), case.n_classes, "{}: one entry per card class", case.name);
        for (i, class) in metrics.per_class.iter().enumerate() {
            close(&case.name, &format!("precision[{i}]"), class.precision, case.precision[i]);
            close(&case.name, &format!("recall[{i}]"), class.recall, case.recall[i]);
            close(&case.name, &format!("f1[{i}]"), class.f1, case.f1[i]);
            assert_eq!(class.support, case.support[i], "{}: support[{i}]", case.name);
            let predicted = case.y_pred.iter().filter(|&&p| p == i).count() as u64;
            assert_eq!(class.predicted, predicted, "{}: predicted[{i}]", case.name);
        }
    }
}

#[test]
fn macro_and_weighted_averages_match_sklearn() {
    for case in fixture().cases {
        let metrics = ClassificationMetrics::from_confusion(&matrix(&case));
        close_average(&case.name, "macro", &metrics.macro_avg, &case.macro_avg);
        close_average(&case.name, "weighted", &metrics.weighted_avg, &case.weighted);
    }
}

#[test]
fn matrices_built_in_pieces_and_merged_score_like_the_whole() {
    let fixture = fixture();
    let case = fixture.cases.iter().find(|c| c.name == "random_11_imbalanced").unwrap();
    let half = case.y_true.len() / 2;
    let mut first = ConfusionMatrix::new(case.n_classes);
    for (&t, &p) in case.y_true[..half].iter().zip(&case.y_pred[..half]) {
        first.add(t, p).unwrap();
    }
    let second = ConfusionMatrix::from_pairs(
        case.n_classes,
        case.y_true[half..].iter().copied().zip(case.y_pred[half..].iter().copied()),
    )
    .unwrap();
    first.merge(&second).unwrap();
    assert_eq!(first.rows(), case.confusion_matrix);
    let metrics = ClassificationMetrics::from_confusion(&first);
    close(&case.name, "accuracy", metrics.accuracy, case.accuracy);
    close_average(&case.name, "macro", &metrics.macro_avg, &case.macro_avg);
}

#[test]
fn per_user_accuracy_matches_sklearn_in_natural_order() {
    let mut checked = 0;
    for case in fixture().cases {
        let (Some(users), Some(reference)) = (&case.users, &case.per_user) else { continue };
        let rows: Vec<(&str, usize, usize)> =
            users.iter().zip(case.y_true.iter().zip(&case.y_pred)).map(|(u, (&t, &p))| (u.as_str(), t, p)).collect();
        let got = per_user(&rows);
        let got_names: Vec<&str> = got.iter().map(|u| u.user.as_str()).collect();
        let want_names: Vec<&str> = reference.iter().map(|u| u.user.as_str()).collect();
        assert_eq!(got_names, want_names, "{}: user order", case.name);
        for (g, w) in got.iter().zip(reference) {
            assert_eq!(g.windows, w.windows, "{}: windows of {}", case.name, w.user);
            close(&case.name, &format!("accuracy of {}", w.user), g.accuracy, w.accuracy);
        }
        checked += 1;
    }
    assert!(checked >= 2);
}
