"""A linear probe: how much of a label can a linear classifier read off the latent codes.

:func:`linear_probe` fits a multinomial logistic regression (scikit-learn
``LogisticRegression`` on standardised codes) on one set of galaxies and
reports its accuracy on another, beside two references: the chance level
(always answering the most frequent training label) and, when given, the
same probe on other features (e.g. the catalogue conditions alone), so the
information the codes add is visible.
"""
import numpy as np
from ...core.errors import InputError

__all__ = ["linear_probe"]


def _check(x, y, what):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
        raise InputError(f"{what}: features [N, D] and labels [N] must have the same N, got "
                         f"{x.shape} and {y.shape}")
    if len(x) == 0:
        raise InputError(f"{what}: no galaxies")
    if not np.all(np.isfinite(x)):
        raise InputError(f"{what}: features contain NaN or infinite values; drop those rows")
    return x, y


def linear_probe(train_codes, train_labels, test_codes, test_labels, class_names=None,
                 C=1.0, max_iter=2000, seed=0):
    """Fit a logistic-regression probe on codes and measure its test accuracy.

    Parameters
    ----------
    train_codes, test_codes : array_like [N, L]
        Features (latent codes) of the training and test galaxies.
    train_labels, test_labels : array_like [N] of int
        Their labels (e.g. the mock morphology class).
    class_names : sequence of str, optional
        Names of the labels 0..K-1, for the report.
    C : float
        Inverse L2 regularisation strength of the logistic regression.
    max_iter : int
        Solver iterations.
    seed : int
        Seed of the solver.

    Returns
    -------
    dict
        ``accuracy`` (test), ``train_accuracy``, ``chance`` (test accuracy of
        always answering the most frequent training label), ``balanced_accuracy``,
        ``confusion`` (list of lists, rows = true label, columns = predicted,
        over ``labels``), ``labels``, ``class_names``, ``predictions`` (ndarray),
        ``n_train``, ``n_test``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train, y_train = _check(train_codes, train_labels, "training set")
    x_test, y_test = _check(test_codes, test_labels, "test set")
    if x_train.shape[1] != x_test.shape[1]:
        raise InputError(f"training codes have {x_train.shape[1]} dimensions, test codes "
                         f"{x_test.shape[1]}; encode both with the same model")
    classes = np.unique(y_train)
    if len(classes) < 2:
        raise InputError(f"the training labels have a single value ({classes.tolist()}); a "
                         f"probe needs at least two classes")
    import warnings

    probe = make_pipeline(StandardScaler(),
                          LogisticRegression(C=C, max_iter=max_iter, random_state=seed))
    probe.fit(x_train, y_train)
    predicted = probe.predict(x_test)
    values, counts = np.unique(y_train, return_counts=True)
    majority = values[np.argmax(counts)]
    labels = np.union1d(classes, np.unique(y_test))
    names = None
    if class_names is not None:
        names = [str(class_names[int(v)]) if 0 <= int(v) < len(class_names) else str(v)
                 for v in labels]
    with warnings.catch_warnings():  # a class missing from the test set is not an error here
        warnings.simplefilter("ignore", UserWarning)
        balanced = float(balanced_accuracy_score(y_test, predicted))
    return {
        "accuracy": float(np.mean(predicted == y_test)),
        "train_accuracy": float(np.mean(probe.predict(x_train) == y_train)),
        "chance": float(np.mean(y_test == majority)),
        "balanced_accuracy": balanced,
        "confusion": confusion_matrix(y_test, predicted, labels=labels).tolist(),
        "labels": labels.tolist(),
        "class_names": names,
        "predictions": predicted,
        "n_train": int(len(y_train)),
        "n_test": int(len(y_test)),
    }
