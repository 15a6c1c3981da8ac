import xaikit  # noqa: F401  (first: triton-before-TensorFlow guard for the whole test session)

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from xaikit import models  # noqa: E402
from xaikit.models import ModelNotAvailableError  # noqa: E402
from xaikit.scenes import SHAPE_CLASSES, make_dataset  # noqa: E402
from xaikit.training import measure_quality as mq  # noqa: E402

TORCHVISION_RESNET_NAMES = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4",
                            "avgpool", "fc"]
VGG16_NAMES = ["block1_conv1", "block1_conv2", "block1_pool", "block2_conv1", "block2_conv2", "block2_pool",
               "block3_conv1", "block3_conv2", "block3_conv3", "block3_pool",  # VGG16's first three blocks
               "flatten", "fc1", "fc2", "predictions"]
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def test_set():
    return make_dataset(60, seed=777)  # seeds 1-3 trained the models


@pytest.fixture(scope="module")
def resnet():
    import torch

    torch.set_num_threads(1)
    return models.load_image_classifier("embedded")


@pytest.fixture(scope="module")
def keras_model():
    import keras  # noqa: F401  (import cost outside the load-time measurement)

    return models.timed(models.load_keras_classifier, "embedded")


@pytest.fixture(scope="module")
def clip():
    from transformers import CLIPModel, CLIPProcessor  # noqa: F401  (import cost outside the timing)

    return models.timed(models.load_clip, "embedded")


# ------------------------------------------------------------------ embedded torch model

def test_resnet_keeps_torchvision_module_names_and_halves_the_resolution_per_stage(resnet):
    model, class_names, prep = resnet
    names = dict(model.named_children())
    assert list(names) == TORCHVISION_RESNET_NAMES
    assert "layer4.0.conv1" in dict(model.named_modules())
    assert class_names == SHAPE_CLASSES and model.fc.out_features == len(SHAPE_CLASSES)
    assert not model.training
    shapes = mq.layer_shapes(model, prep, {"images": np.zeros((1, 64, 64, 3), np.uint8)})
    # as in ResNet, layer2..layer4 each halve the resolution (coarser Grad-CAM maps in higher layers),
    # and layer4 keeps at least 7 x 7 positions
    assert [shape[1:] for shape in shapes.values()] == [(side, side) for side in models.MINI_RESNET_FEATURE_SIDES]
    assert [shape[0] for shape in shapes.values()] == list(models.MINI_RESNET_WIDTHS)
    assert models.MINI_RESNET_FEATURE_SIDES[1:] == tuple(side // 2 for side in models.MINI_RESNET_FEATURE_SIDES[:-1])
    assert min(shapes["layer4"][1:]) >= 7


def _receptive_field_centre(model, layer, row, column, side=64):
    """Centre of mass of d(sum over channels of the layer's cell (row, column)) / d input, in input pixels."""
    import torch

    store = {}
    handle = dict(model.named_modules())[layer].register_forward_hook(lambda m, i, o: store.__setitem__("a", o))
    x = torch.ones(1, 3, side, side, requires_grad=True)
    try:
        model(x)
    finally:
        handle.remove()
    (gradient,) = torch.autograd.grad(store["a"][0, :, row, column].sum(), x)
    weight = gradient[0].sum(0).double()
    rows, columns = np.mgrid[0:side, 0:side]
    return (float((weight * torch.from_numpy(rows)).sum() / weight.sum()),
            float((weight * torch.from_numpy(columns)).sum() / weight.sum()))


@pytest.mark.parametrize("layer,stride", [("layer1", 1), ("layer2", 2), ("layer3", 4), ("layer4", 8)])
def test_resnet_feature_grid_is_where_bilinear_upsampling_puts_it(layer, stride):
    """With every conv a uniform positive kernel the network is linear and each receptive field symmetric, so
    the input gradient's centre of mass is the cell's centre. Bilinear upsampling with align_corners=False
    puts cell i at stride * i + (stride - 1) / 2; padded 3x3 stride-2 convs would put it at stride * i
    (layer4: 3.5 px off)."""
    import torch

    model = models.build_mini_resnet().eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d):
                module.weight.fill_(1.0 / module.weight[0].numel())
    cell = 4 * 8 // stride  # a cell near the middle: its receptive field stays off the padded border
    centre = stride * cell + (stride - 1) / 2
    assert _receptive_field_centre(model, layer, cell, cell) == pytest.approx((centre, centre), abs=1e-3)


def test_preprocess_gives_normalised_batch_of_one():
    import torch

    img = np.full((64, 64, 3), 255, np.uint8)
    x = xaikit.preprocess(img)
    assert x.shape == (1, 3, 64, 64) and x.dtype == torch.float32
    expected = (1 - np.array(models.IMAGENET_MEAN)) / np.array(models.IMAGENET_STD)
    assert np.allclose(x[0, :, 0, 0].numpy(), expected, atol=1e-5)
    # other sizes are resized to the model's input size
    assert xaikit.preprocess(np.zeros((100, 80, 3), np.uint8)).shape == (1, 3, 64, 64)


def test_shipped_resnet_weights_accuracy_and_pointing_game(resnet, test_set):
    """The issue's quality bars (measure_quality on 500 scenes: 1.000 and 0.932; on these 60: 1.000, 0.967)."""
    model, _, prep = resnet
    assert mq.torch_accuracy(model, prep, test_set) >= 0.95
    assert mq.pointing_game(model, prep, test_set, "layer4") >= 0.90


def test_embedded_resnet_loads_quickly():
    _, seconds = models.timed(models.load_image_classifier, "embedded")
    assert seconds < 5
    assert models.MINI_RESNET_PATH.stat().st_size <= 5 * 2**20


def test_plain_twin_has_the_same_architecture_accuracy_and_a_much_weaker_pointing_game(resnet, test_set):
    """The twin trained without the localisation term (train_mini_resnet --plain): the notebook's lesson needs
    the same accuracy and a layer4 map that is not pulled onto the object (measure_quality on 500 scenes:
    accuracy 0.998, pointing game layer4 0.566; on these 60: 1.000, 0.550; the shipped model's: 0.967)."""
    import torch

    twin, class_names, prep = models.load_image_classifier("embedded_plain")
    model = resnet[0]
    assert class_names == SHAPE_CLASSES and prep == resnet[2] and not twin.training
    state, twin_state = model.state_dict(), twin.state_dict()
    assert list(twin_state) == list(state)
    assert all(twin_state[key].shape == state[key].shape for key in state)
    assert not torch.equal(twin_state["fc.weight"], state["fc.weight"])
    assert mq.torch_accuracy(twin, prep, test_set) >= 0.95
    assert mq.pointing_game(twin, prep, test_set, "layer4") <= 0.80
    assert models.MINI_RESNET_PLAIN_PATH.stat().st_size <= 1 * 2**20


def test_plain_twin_loads_quickly_and_the_training_script_makes_it():
    from xaikit.training import train_mini_resnet

    _, seconds = models.timed(models.load_image_classifier, "embedded_plain")
    assert seconds < 5
    plain = train_mini_resnet.parse_args(["--plain"])
    assert plain.loc_weight == 0 and plain.out == str(models.MINI_RESNET_PLAIN_PATH)
    default = train_mini_resnet.parse_args([])
    assert default.loc_weight == 0.3 and default.out == str(models.MINI_RESNET_PATH)
    assert (plain.seed, plain.n_train, plain.epochs, plain.lr) == (default.seed, default.n_train, default.epochs,
                                                                   default.lr)
    with pytest.raises(SystemExit):
        train_mini_resnet.parse_args(["--plain", "--loc-weight", "0.3"])
    with pytest.raises(ValueError, match="embedded_plain"):
        models.load_image_classifier("plain")


def test_course_models_is_one_setting_embedded_unless_the_course_says_real(monkeypatch):
    monkeypatch.delenv(models.COURSE_MODELS_VARIABLE, raising=False)
    assert models.course_models() == "embedded"
    for value, expected in (("real", "real"), (" Real ", "real"), ("embedded", "embedded"), ("", "embedded")):
        monkeypatch.setenv(models.COURSE_MODELS_VARIABLE, value)
        assert models.course_models() == expected
    monkeypatch.setenv(models.COURSE_MODELS_VARIABLE, "resnet50")
    with pytest.raises(ValueError, match="XAI_KURS_MODELS"):
        models.course_models()


def test_the_grading_sandbox_does_not_pass_the_course_setting_on(tmp_path, monkeypatch):
    """Grading reruns every notebook on the embedded models, whatever the grader's environment says."""
    from autograder.runner.jobsetup import scrubbed_environment

    monkeypatch.setenv(models.COURSE_MODELS_VARIABLE, "real")
    assert models.COURSE_MODELS_VARIABLE not in scrubbed_environment(tmp_path)


def test_two_object_scene_puts_one_shape_in_each_half():
    from xaikit.scenes import make_two_object_scene

    for seed in range(20):
        for size_word in ("small", "large"):
            scene = make_two_object_scene(seed, left="star", right="square", size_word=size_word)
            left, right = scene.masks
            assert scene.image.shape == (64, 64, 3) and scene.image.dtype == np.uint8
            assert left.any() and right.any() and not (left & right).any()
            assert not left[:, 32:].any() and not right[:, :32].any()
            assert scene.class_names == ("star", "square") and scene.colours[0] != scene.colours[1]
            assert scene.labels == (SHAPE_CLASSES.index("star"), SHAPE_CLASSES.index("square"))
    again = make_two_object_scene(0, left="star", right="square", size_word="small")
    assert np.array_equal(again.image, make_two_object_scene(0, left="star", right="square",
                                                             size_word="small").image)


# ------------------------------------------------------------------ embedded Keras model

def test_keras_model_uses_vgg16_layer_names(keras_model):
    (model, class_names, prep), _ = keras_model
    names = [layer.name for layer in model.layers[1:]]
    assert names == VGG16_NAMES
    assert model.get_layer("predictions").activation.__name__ == "softmax"
    assert class_names == SHAPE_CLASSES
    assert tuple(model.input_shape) == (None, 64, 64, 3)


def test_keras_preprocess_maps_uint8_to_unit_range(keras_model):
    (_, _, prep), _ = keras_model
    x = prep(np.full((64, 64, 3), 255, np.uint8))
    assert x.shape == (1, 64, 64, 3) and x.dtype == np.float32 and x.max() == 1.0


def test_shipped_keras_weights_accuracy_and_load_time(keras_model, test_set):
    (model, _, prep), seconds = keras_model
    assert seconds < 5
    assert mq.keras_accuracy(model, prep, test_set) >= 0.90
    assert models.MINI_VGG_PATH.stat().st_size <= 5 * 2**20


# ------------------------------------------------------------------ embedded tiny CLIP

def test_shipped_tiny_clip_ranks_and_separates_words(clip, test_set):
    (model, processor), seconds = clip
    assert seconds < 5
    assert model.config._attn_implementation == "eager"
    assert model.config.text_config.eos_token_id == processor.tokenizer.eos_token_id
    assert mq.clip_ranking(model, processor, test_set) >= 0.80
    rates = mq.clip_swap_rates(model, processor, test_set)
    assert rates["colour"] >= 0.80 and rates["shape"] >= 0.80


def test_tiny_clip_returns_attentions_and_is_small(clip):
    import torch

    (model, processor), _ = clip
    inputs = processor(text=["a small red star on the left"], images=[np.zeros((64, 64, 3), np.uint8)],
                       return_tensors="pt", padding=True, truncation=True)
    with torch.no_grad():
        out = model(**inputs, output_attentions=True)
    assert len(out.vision_model_output.attentions) == model.config.vision_config.num_hidden_layers
    size = sum(f.stat().st_size for f in models.TINY_CLIP_DIR.rglob("*") if f.is_file())
    assert size <= 10 * 2**20


TEXTS_WITH_UNKNOWN_CHARACTERS = ["a small red star 😀 on the left", "ein großes Quadrat", "a blue circl\u00e9"]


def test_tiny_clip_unknown_character_gets_its_own_token(clip):
    """Characters outside the tiny vocabulary become <|unk|>, never end-of-text (also padding): the text
    encoder pools at the first end-of-text token, so an unknown character must not look like one."""
    (_, processor), _ = clip
    tokenizer = processor.tokenizer
    assert tokenizer.unk_token_id not in {tokenizer.eos_token_id, tokenizer.pad_token_id, tokenizer.bos_token_id}
    for text in TEXTS_WITH_UNKNOWN_CHARACTERS:
        ids = tokenizer(text)["input_ids"]
        assert tokenizer.unk_token_id in ids, (text, tokenizer.convert_ids_to_tokens(ids))
        assert [i for i, token in enumerate(ids) if token == tokenizer.eos_token_id] == [len(ids) - 1], text
    # the scene vocabulary itself has no unknown characters
    assert tokenizer.unk_token_id not in tokenizer("a small red star on the left")["input_ids"]


def test_tiny_clip_pools_at_the_real_end_of_text_when_a_token_is_unknown(clip):
    """pooler_output is the last layer's state at the real end-of-text position (the one the tokenizer appended),
    also for padded batches and for texts holding the unknown token."""
    import torch

    (model, processor), _ = clip
    tokenizer = processor.tokenizer
    texts = [*TEXTS_WITH_UNKNOWN_CHARACTERS, "a small red star"]
    encoded = tokenizer(texts, return_tensors="pt", padding=True, truncation=True)
    ids = encoded["input_ids"].clone()
    ids[-1, 2] = tokenizer.unk_token_id  # "a <unk> red star": the unknown token as id, too
    with torch.no_grad():
        out = model.text_model(input_ids=ids, attention_mask=encoded["attention_mask"])
    real_end = encoded["attention_mask"].sum(dim=1) - 1
    assert bool((ids[torch.arange(len(texts)), real_end] == tokenizer.eos_token_id).all())
    for row, end in enumerate(real_end.tolist()):
        unknown = torch.nonzero(ids[row] == tokenizer.unk_token_id)[:, 0]
        assert len(unknown) and int(unknown.max()) < end, texts[row]
        torch.testing.assert_close(out.pooler_output[row], out.last_hidden_state[row, end], rtol=0, atol=0)
        assert not torch.allclose(out.pooler_output[row], out.last_hidden_state[row, int(unknown[0])])


# ------------------------------------------------------------------ real-model branches

def test_resnet50_loads_from_fake_torch_cache(tmp_path, monkeypatch):
    import torch
    import torchvision

    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    expected = os.path.basename(torchvision.models.ResNet50_Weights.IMAGENET1K_V2.url)
    assert expected == models.RESNET50_FILENAME
    torch.manual_seed(0)
    state = torchvision.models.resnet50(weights=None).state_dict()
    torch.save(state, ckpt / expected)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    model, class_names, prep = models.load_image_classifier("resnet50")
    assert torch.equal(model.fc.weight, state["fc.weight"]) and not model.training
    assert len(class_names) == 1000 and class_names[207] == "golden retriever"
    assert prep(np.zeros((300, 400, 3), np.uint8)).shape == (1, 3, 224, 224)


def test_resnet50_without_cache_raises_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(ModelNotAvailableError, match="IMAGENET1K_V2"):
        models.load_image_classifier("resnet50")


def test_vgg16_loads_from_fake_keras_cache(tmp_path, monkeypatch):
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    (tmp_path / "models").mkdir()
    fake = keras.applications.VGG16(weights=None)
    with h5py.File(tmp_path / "models" / models.VGG16_FILENAME, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, fake)  # same layout as Keras' download
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    model, class_names, prep = models.load_keras_classifier("vgg16")
    assert np.array_equal(model.get_layer("block1_conv1").get_weights()[0],
                          fake.get_layer("block1_conv1").get_weights()[0])
    assert len(class_names) == 1000
    assert prep(np.zeros((100, 120, 3), np.uint8)).shape == (1, 224, 224, 3)


def test_vgg16_without_cache_raises_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(ModelNotAvailableError, match="VGG16"):
        models.load_keras_classifier("vgg16")


def _fake_hf_cache(root: Path, repo_id: str):
    """Random small CLIP + the tiny processor in the hub cache layout (refs/main -> snapshot)."""
    import torch
    from transformers import CLIPConfig, CLIPModel, CLIPProcessor

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = root / "hub" / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(commit)
    tiny = CLIPConfig.from_pretrained(models.TINY_CLIP_DIR)
    torch.manual_seed(0)
    model = CLIPModel(tiny)
    model.save_pretrained(snapshot)
    CLIPProcessor.from_pretrained(models.TINY_CLIP_DIR).save_pretrained(snapshot)
    return model


def test_openai_clip_loads_from_fake_hf_cache(tmp_path, monkeypatch):
    import torch

    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    fake = _fake_hf_cache(tmp_path, models.CLIP_HUB_ID)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    model, processor = models.load_clip(models.CLIP_HUB_ID)
    assert torch.equal(model.logit_scale, fake.logit_scale)
    assert torch.equal(model.visual_projection.weight, fake.visual_projection.weight)
    assert model.config._attn_implementation == "eager"
    assert processor.tokenizer("a red star")["input_ids"][0] == processor.tokenizer.bos_token_id


def test_openai_clip_without_cache_raises_with_instructions(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    t0 = time.perf_counter()
    with pytest.raises(ModelNotAvailableError, match="hf download"):
        models.load_clip(models.CLIP_HUB_ID)
    assert time.perf_counter() - t0 < 5  # fails at once, no network retries


def test_unknown_model_names_are_rejected():
    with pytest.raises(ValueError):
        models.load_image_classifier("resnet18")
    with pytest.raises(ValueError):
        models.load_keras_classifier("vgg19")


# ------------------------------------------------------------------ import-order guard

def test_tensorflow_then_torchvision_after_xaikit_does_not_crash():
    code = "import xaikit, tensorflow, torchvision; print('ok')"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr[-2000:]


@pytest.mark.skipif(os.environ.get("XAIKIT_SHOW_HAZARD") != "1",
                    reason="set XAIKIT_SHOW_HAZARD=1 to show the crash the guard prevents (~8 s)")
def test_tensorflow_then_torchvision_without_guard_crashes():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    res = subprocess.run([sys.executable, "-c", "import tensorflow, torchvision"], env=env,
                         capture_output=True, timeout=120)
    if res.returncode == 0:
        pytest.skip("the TensorFlow/triton crash no longer reproduces with these versions")
    assert res.returncode in (-11, 139)
