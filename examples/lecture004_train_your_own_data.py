# Lecture 004, "Train your Own Data": the lecture's flow_from_directory cell as printed
# but for the import lines (keras -> cnnfast.keras) and two slips that stop Keras
# ("# fixed:", a stray "]" after two arguments). The lecture does not print its
# folders or its classifier:
# - "# setup:" lines build its dataset/training_set and dataset/test_set, two class
#   folders each, as its cats-vs-dogs data: 4,000 cats and 4,000 dogs (its
#   samples_per_epoch = 8000) and 1,000 + 1,000 test images (its nb_val_samples =
#   2000), taken from CIFAR-10 (JPEG)'s cat and dog folders (links, not copies);
# - "# rebuilt:" the classifier those cells train: the usual one of this exercise,
#   one convolution and a Dense(1, activation='sigmoid') under binary_crossentropy.
# CIFAR-10 (JPEG) is found in $CNNFAST_DATASETS or ~/.cnnfast/datasets (here:
# CNNFAST_DATASETS=../shared/datasets); the folders go to runs/train-your-own-data/.
# Run: python examples/lecture004_train_your_own_data.py   (25 epochs of 80 batches)
import os  # setup:
from pathlib import Path  # setup:

from cnnfast.data.image_splits import dataset_dirs, find_cifar10_jpeg  # setup:

work = Path("runs/train-your-own-data")  # setup:
cifar = next(filter(None, map(find_cifar10_jpeg, dataset_dirs())), None)  # setup:
if cifar is None:  # setup:
    raise SystemExit("CIFAR-10 (JPEG) not found: set CNNFAST_DATASETS=../shared/datasets")  # setup:
for split, source, count in (("training_set", "train", 4000), ("test_set", "test", 1000)):  # setup:
    for name, folder in (("cats", "cat"), ("dogs", "dog")):  # setup:
        target = work / "dataset" / split / name  # setup:
        target.mkdir(parents=True, exist_ok=True)  # setup:
        for image in sorted((cifar / source / folder).iterdir())[:count]:  # setup:
            if not (target / image.name).exists():  # setup:
                os.symlink(image.resolve(), target / image.name)  # setup:
os.chdir(work)  # setup: the lecture's relative paths

from cnnfast.keras.models import Sequential  # rebuilt:
from cnnfast.keras.layers import Conv2D, MaxPooling2D, Flatten, Dense  # rebuilt:

classifier = Sequential()  # rebuilt:
classifier.add(Conv2D(32, (3, 3), input_shape = (64, 64, 3), activation = 'relu'))  # rebuilt:
classifier.add(MaxPooling2D(pool_size = (2, 2)))  # rebuilt:
classifier.add(Flatten())  # rebuilt:
classifier.add(Dense(units = 128, activation = 'relu'))  # rebuilt:
classifier.add(Dense(units = 1, activation = 'sigmoid'))  # rebuilt:
classifier.compile(optimizer = 'adam', loss = 'binary_crossentropy', metrics = ['accuracy'])  # rebuilt:

from cnnfast.keras.preprocessing.image import ImageDataGenerator

train_datagen = ImageDataGenerator(rescale = 1./255,
                                     shear_range = 0.2,
                                     zoom_range = 0.2,
                                     horizontal_flip = True)

test_datagen = ImageDataGenerator(rescale = 1./255)

training_set = train_datagen.flow_from_directory('dataset/training_set',
                                                target_size = (64, 64),
                                                batch_size = 100,
                                                class_mode = 'binary')

test_set = test_datagen.flow_from_directory('dataset/test_set',
                                            target_size = (64, 64),
                                            batch_size = 100,
                                            class_mode = 'binary')

classifier.fit_generator(training_set,
                         samples_per_epoch = 8000,
                         nb_epoch = 25,  # fixed: was "nb_epoch = 25,]", a syntax error
                         validation_data = test_set,
                         nb_val_samples = 2000)  # fixed: was "nb_val_samples = 2000)]"

loss, accuracy = classifier.evaluate(test_set)  # rebuilt: the lecture shows no output
print('Test accuracy:', accuracy)  # rebuilt:
