"""The Python API in one page: configs, a model, the paper's training loop, solving, saving.

    python examples/python_api.py            # about 15 s on 2 CPU cores (a tiny model)

For real training use `trmkit train sudoku` (the official persistent-carry recipe, EMA,
checkpoints); this shows the pieces underneath.
"""

from __future__ import annotations

import tempfile

import torch

from trmkit import TRM, AdamATan2, TRMConfig, get_task


def main() -> None:
    paper = TRMConfig.for_sudoku()  # the reference run: mlp_t, hidden 512, T=3, n=6
    print(f"paper Sudoku model: {TRM(paper.model).num_parameters():,} parameters, effective depth {paper.effective_depth}")

    task = get_task("sudoku")
    config = TRMConfig.for_task("sudoku", "tiny")
    data = task.spec.build_dataset(task.dataset_options({"num_train": 64, "num_test": 4}), 0)
    puzzles, solutions = torch.as_tensor(data["train"].inputs), torch.as_tensor(data["train"].labels)

    torch.manual_seed(0)
    model = TRM(config.model)
    optimizer = AdamATan2(model.parameters(), lr=1e-3, weight_decay=0.1)
    for step in range(20):  # the paper's pseudocode: an optimizer step per supervision step
        batch = torch.randint(0, len(puzzles), (16,))
        out = model.train_step(puzzles[batch], solutions[batch], optimizer, max_steps=config.model.halt_max_steps)
    print(f"after 20 batches: loss {out['loss']:.3f}, exact accuracy {out['accuracy']:.2f}")

    result = model.solve(data["test"].inputs[:1], return_trajectory=True)
    puzzle = task.spec.parse(task.decoder.render(task.tokenizer.decode(data["test"].inputs[0])), "test")[0]
    answer = task.decoder.decode(result["solution"][0].numpy(), puzzle)
    print(task.decoder.render(answer))
    print(f"valid: {task.validate(puzzle, answer).ok}, confidence {result['confidence'][0]:.3f}, "
          f"{int(result['steps'][0])} steps, {len(result['trajectory'])} trajectory entries")

    with tempfile.TemporaryDirectory() as folder:  # the config says which task the weights are for
        model.save_pretrained(folder, config)
        again = TRM.from_pretrained(folder).solve(data["test"].inputs[:1])
    print(f"saved and reloaded: the same answer {bool(torch.equal(again['solution'], result['solution']))}")


if __name__ == "__main__":
    main()
