"""The trainers' review inbox: mining messages worth a look, labelling them into data/."""
