"""Hidden cases of the CLIP exercise, one builder per probe.

Other scenes (seeded from the set's seed), a downsampled non-square photo, a scene at 96 px (resized
by the processor), other descriptions and texts with words the tiny vocabulary splits into several
tokens, and another random configuration than the public one.
"""

from __future__ import annotations

import numpy as np

from xaikit.selfcheck.core import Case
from xaikit.selfcheck.exercises.clip import (make_scenes, other_config_case, ranking_scene_case, similarity_scene_case,
                                             swap, tie_case, token_cases)

HIDDEN_CONFIG = {"text": {"hidden_size": 48, "intermediate_size": 96, "num_hidden_layers": 3, "num_attention_heads": 3},
                 "vision": {"hidden_size": 40, "intermediate_size": 80, "num_hidden_layers": 3,
                            "num_attention_heads": 5, "image_size": 48, "patch_size": 12},
                 "projection_dim": 32}


def build_hidden_cases(seed: int) -> list[Case]:
    """One generator, drawn from by the probes' builders in a fixed order (the order fixes the cases)."""
    rng = np.random.default_rng(seed)
    scenes = make_scenes(rng)
    return [*similarity_cases(rng, scenes), *ranking_cases(rng, scenes), *token_cases(
        [scenes[4].caption, "an image of the large purple cross in the centre", "a kitten on a chair"]),
        other_config_case(rng, scenes[2], HIDDEN_CONFIG, "a photo of a dog", "an image of a large yellow triangle")]


def similarity_cases(rng, scenes) -> list[Case]:
    """probe_similarity: a scene with five texts, a non-square photo, a scene at 96 px."""
    from xaikit.photos import load_photo
    from xaikit.scenes import make_scene

    photo_texts = ["an image of the coffee", "a large orange circle in the centre", "a small green cross"]
    cases = [similarity_scene_case(rng, scenes[0], ["a photo of a dog"]),
             Case("sim_photo", "probe_similarity",
                  {"model": "embedded", "image": np.ascontiguousarray(load_photo("coffee")[::5, ::4]),
                   "texts": photo_texts},
                  f"Foto Kaffeetasse (verkleinert, nicht quadratisch), {len(photo_texts)} Beschreibungen",
                  frozenset({"embedded"}))]
    big = make_scene(int(rng.integers(10**6)), size=96)
    big_texts = [swap(big, "size_word", rng), big.caption]
    return cases + [Case("sim_large_image", "probe_similarity", {"model": "embedded", "image": big.image,
                                                                  "texts": big_texts},
                         f"Szene mit 96 px „{big.caption}“, 2 Beschreibungen", frozenset({"embedded"}))]


def ranking_cases(rng, scenes) -> list[Case]:
    """probe_ranking: two scenes with distinct texts (one vaguer, with another norm), one with a tie."""
    first = ranking_scene_case(rng, scenes[1], "rank_scene", "an image of the car")
    c = scenes[2]
    texts = [swap(c, "position_word", rng), swap(c, "colour", rng), c.caption, swap(c, "class_name", rng),
             f"a {c.size_word} {c.class_name}"]
    return [first,
            Case("rank_scene_2", "probe_ranking", {"model": "embedded", "image": c.image, "texts": texts},
                 f"Szene „{c.caption}“, {len(texts)} Beschreibungen", frozenset({"embedded", "distinct"})),
            tie_case(rng, scenes[3], scenes[3].caption.title())]
