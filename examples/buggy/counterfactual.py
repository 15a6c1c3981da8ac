"""Realistic mistakes in the counterfactual exercise (each student = the full solution with these cells replaced)."""

BUGGY = {
    # Computes the distance for the history but forgets to add it to the loss, uses the signed difference in
    # the map, and compares the new prediction with the target instead of the original prediction for `flipped`.
    "buggy_no_distance": {
        "generate_counterfactual": '''
def generate_counterfactual(model, image, target_class, steps=50, lr=0.1, distance_weight=0.05):
    original = tf.constant(image, dtype=tf.float32)
    x = tf.Variable(original)
    history = {"loss": [], "target_prob": [], "distance": []}
    for _ in range(steps):
        with tf.GradientTape() as tape:
            probs = model(x, training=False)
            distance = tf.reduce_sum(tf.square(x - original))  # logged, but never added to the loss
            loss = keras.losses.sparse_categorical_crossentropy(tf.constant([target_class]), probs)[0]
        gradient = tape.gradient(loss, x)
        x.assign(tf.clip_by_value(x - lr * gradient, 0.0, 1.0))
        history["loss"].append(float(loss))
        history["target_prob"].append(float(probs[0, target_class]))
        history["distance"].append(float(distance))
    return x.numpy().astype(image.dtype), history
''',
        "difference_map": '''
def difference_map(original, counterfactual):
    difference = (np.asarray(counterfactual, dtype=float) - np.asarray(original, dtype=float)).mean(axis=-1)
    return difference[0] if difference.ndim == 3 else difference
''',
        "answers": '''
predicted_after = int(np.argmax(model(x_counterfactual, training=False).numpy()[0]))
flipped = predicted_after != target_class
new_class_name = class_names[predicted_after]
print("Klasse geändert:", flipped, "| neue Klasse:", new_class_name)
''',
    },
    # Works in numpy on the caller's array (in place) and forgets to clip. In the notebook the in-place
    # update also overwrites x_original, so the answers cannot be checked against an unchanged original.
    "buggy_in_place": {
        "generate_counterfactual": '''
def generate_counterfactual(model, image, target_class, steps=50, lr=0.1, distance_weight=0.05):
    original = image.copy()
    x = image
    history = {"loss": [], "target_prob": [], "distance": []}
    for _ in range(steps):
        x_t = tf.constant(x, dtype=tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(x_t)
            probs = model(x_t, training=False)
            distance = tf.reduce_sum(tf.square(x_t - original))
            loss = -tf.math.log(probs[0, target_class]) + distance_weight * distance
        gradient = tape.gradient(loss, x_t).numpy()
        x -= lr * gradient
        history["loss"].append(float(loss))
        history["target_prob"].append(float(probs[0, target_class]))
        history["distance"].append(float(distance))
    return x, history
''',
    },
    # Tasks 5 and 6: counts a mere class change as valid, counts changed values (pixel x channel) instead of
    # pixels, and thresholds hard (small values to 0, the large ones left as they are) instead of shrinking.
    "buggy_metrics_flip": {
        "counterfactual_metrics": '''
def counterfactual_metrics(model, original, counterfactual, target):
    delta = counterfactual.astype(np.float64) - original.astype(np.float64)
    before = np.argmax(model(original, training=False).numpy()[0])
    after = np.argmax(model(counterfactual, training=False).numpy()[0])
    return {"valid": bool(after != before),
            "l1": float(np.sum(np.abs(delta))),
            "l2": float(np.linalg.norm(delta)),
            "sparsity": float(np.mean(np.abs(delta) > 1 / 255))}
''',
        "soft_threshold": '''
def soft_threshold(delta, threshold):
    return np.where(np.abs(delta) > threshold, delta, 0.0)
''',
    },
}
