"""Write the demo datasets: COCO-format detection (``data/demo_coco``) and ADE20K-layout segmentation
(``data/demo_ade/ADEChallengeData2016``). Deterministic: the same seed writes the same files."""
import argparse
import os.path as osp

from mmghost.demo_data import make_detection_dataset, make_segmentation_dataset


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Generate the demo datasets')
    parser.add_argument('task', choices=['det', 'seg'], help='detection or segmentation dataset')
    parser.add_argument('--out', help='output root (default: data/demo_coco or '
                        'data/demo_ade/ADEChallengeData2016)')
    parser.add_argument('--num-train', type=int, help='number of training images')
    parser.add_argument('--num-val', type=int, help='number of validation images')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    for name in ('num_train', 'num_val'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got {value}')
    return args


def main() -> None:
    args = parse_args()
    sizes = {k: v for k, v in (('num_train', args.num_train), ('num_val', args.num_val)) if v is not None}
    if args.task == 'det':
        root = args.out or osp.join('data', 'demo_coco')
        make_detection_dataset(root, seed=args.seed, **sizes)
    else:
        root = args.out or osp.join('data', 'demo_ade', 'ADEChallengeData2016')
        make_segmentation_dataset(root, seed=args.seed, **sizes)
    print(f'wrote the {args.task} demo dataset to {root}')


if __name__ == '__main__':
    main()
