"""Embedded reference data for `preau seed`: common French names, places, subjects and MEF codes.

Kept small and in code (not Faker) so seeding works on a production install without the test extras. Names are
frequent French first names (children born 2011-2021, adults born 1965-1992) and frequent surnames in France.
"""

# Girls' and boys' first names frequent for children born in France in 2011-2021.
CHILD_FIRST_NAMES_F = [
    "Emma", "Jade", "Louise", "Alice", "Chloé", "Lina", "Léa", "Rose", "Anna", "Mila", "Inès", "Ambre", "Julia",
    "Mia", "Léna", "Manon", "Juliette", "Lou", "Zoé", "Camille", "Agathe", "Jeanne", "Lucie", "Eva", "Nina",
    "Sarah", "Romane", "Inaya", "Charlotte", "Louna", "Léonie", "Clara", "Adèle", "Margaux", "Iris", "Victoria",
    "Luna", "Alix", "Lana", "Capucine", "Elena", "Gabrielle", "Olivia", "Victoire", "Louisa", "Nour", "Sofia",
    "Giulia", "Maëlys", "Héloïse", "Mathilde", "Valentine", "Apolline", "Margot", "Elsa", "Yasmine", "Lya",
    "Alicia", "Maya", "Célia", "Noémie", "Salomé", "Océane", "Maëlle", "Aya", "Lyna", "Emy", "Lola", "Axelle",
    "Clémence", "Élise", "Anaïs", "Pauline", "Justine", "Marie", "Laura", "Lisa", "Eloïse", "Ninon", "Lilou",
    "Soline", "Constance", "Joséphine", "Hanna", "Assia", "Kenza", "Amira", "Maryam", "Thaïs", "Garance",
]
CHILD_FIRST_NAMES_M = [
    "Gabriel", "Louis", "Raphaël", "Jules", "Adam", "Lucas", "Léo", "Hugo", "Arthur", "Nathan", "Liam", "Ethan",
    "Paul", "Nolan", "Sacha", "Tom", "Noah", "Mohamed", "Timéo", "Gabin", "Théo", "Aaron", "Maël", "Mathis",
    "Axel", "Enzo", "Victor", "Martin", "Léon", "Mathéo", "Marius", "Antoine", "Naël", "Robin", "Valentin",
    "Samuel", "Isaac", "Clément", "Maxime", "Baptiste", "Eden", "Rayan", "Noé", "Alexandre", "Evan", "Simon",
    "Augustin", "Malo", "Lenny", "Kylian", "Côme", "Esteban", "Amir", "Marceau", "Yanis", "Thomas", "Ibrahim",
    "Mathias", "Youssef", "Achille", "Elio", "Lorenzo", "Ilyes", "Oscar", "Léandre", "Tiago", "Milo", "Charles",
    "Basile", "Joseph", "Émile", "Titouan", "Corentin", "Romain", "Tristan", "Bastien", "Quentin", "Florian",
    "Adrien", "Benjamin", "Kaïs", "Younès", "Anas", "Soan", "Sohan", "Ewen", "Loris", "Lilian", "Gaspard",
]
# Adults (parents, teachers, staff) born roughly 1965-1992.
ADULT_FIRST_NAMES_F = [
    "Nathalie", "Isabelle", "Sandrine", "Céline", "Stéphanie", "Sophie", "Aurélie", "Émilie", "Julie", "Virginie",
    "Caroline", "Laetitia", "Audrey", "Élodie", "Anne", "Marie", "Christelle", "Séverine", "Karine", "Delphine",
    "Valérie", "Véronique", "Sabrina", "Mélanie", "Amandine", "Vanessa", "Jessica", "Laure", "Hélène", "Claire",
    "Cécile", "Alexandra", "Magali", "Fatima", "Nadia", "Samia", "Sonia", "Carole", "Emmanuelle", "Marion",
    "Pauline", "Camille", "Charlotte", "Anaïs", "Laura", "Sarah", "Élise", "Gaëlle", "Ophélie", "Coralie",
    "Angélique", "Peggy", "Florence", "Corinne", "Sylvie", "Agnès", "Béatrice", "Patricia", "Catherine",
    "Estelle", "Mathilde", "Lucie", "Morgane", "Fanny", "Charline", "Leïla", "Malika", "Myriam", "Nadège",
    "Aline", "Christine", "Murielle", "Émeline", "Élisabeth", "Anne-Sophie", "Marie-Laure", "Hanane", "Amel",
]
ADULT_FIRST_NAMES_M = [
    "Nicolas", "Sébastien", "Julien", "Christophe", "Stéphane", "Frédéric", "David", "Laurent", "Olivier",
    "Guillaume", "Jérôme", "Cédric", "Vincent", "Thomas", "Alexandre", "Romain", "Mickaël", "Fabrice", "Anthony",
    "Yannick", "Damien", "Jean", "Pierre", "François", "Arnaud", "Franck", "Grégory", "Mathieu", "Benjamin",
    "Ludovic", "Emmanuel", "Philippe", "Éric", "Thierry", "Karim", "Mehdi", "Samir", "Rachid", "Hervé",
    "Patrice", "Lionel", "Xavier", "Benoît", "Fabien", "Loïc", "Yann", "Maxime", "Florian", "Jonathan",
    "Sylvain", "Pascal", "Bruno", "Didier", "Gilles", "Jean-Marc", "Jean-Philippe", "Pierre-Yves", "Bertrand",
    "Antoine", "Hugo", "Kevin", "Jérémy", "Cyril", "Gaël", "Erwan", "Rémi", "Yohann", "Hakim", "Nordine",
    "Sofiane", "Moussa", "Ibrahima", "Mamadou", "Tanguy", "Matthieu", "Aurélien", "Régis", "Denis", "Marc",
]
LAST_NAMES = [
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent", "Simon",
    "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard", "Bonnet", "Dupont",
    "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Lefèvre", "Faure", "André", "Mercier", "Blanc",
    "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin",
    "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson", "Marchand", "Duval",
    "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier", "Brun", "Blanchard", "Giraud",
    "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier", "Arnaud", "Martinez", "Gérard", "Roche",
    "Renard", "Schmitt", "Roy", "Leroux", "Colin", "Vidal", "Caron", "Picard", "Roger", "Fabre", "Aubert",
    "Lemoine", "Renaud", "Dumas", "Lacroix", "Olivier", "Philippe", "Bourgeois", "Pierre", "Benoît", "Rey",
    "Leclerc", "Payet", "Rolland", "Leclercq", "Guillaume", "Lecomte", "Lopez", "Jean", "Dupuy", "Guillot",
    "Hubert", "Berger", "Carpentier", "Sanchez", "Dupuis", "Moulin", "Louis", "Deschamps", "Huet", "Vasseur",
    "Perez", "Boucher", "Fleury", "Royer", "Klein", "Jacquet", "Adam", "Paris", "Poirier", "Marty", "Aubry",
    "Guyot", "Carré", "Charles", "Renault", "Charpentier", "Ménard", "Maillard", "Baron", "Bertin", "Bailly",
    "Hervé", "Schneider", "Fernandez", "Le Gall", "Collet", "Léger", "Bouvier", "Julien", "Prévost", "Millet",
    "Perrot", "Daniel", "Le Roux", "Cousin", "Germain", "Breton", "Besson", "Langlois", "Rémy", "Le Goff",
    "Pelletier", "Lévêque", "Perrier", "Leblanc", "Barré", "Lebrun", "Marchal", "Weber", "Mallet", "Hamon",
    "Boulanger", "Jacob", "Monnier", "Michaud", "Rodriguez", "Guichard", "Gillet", "Étienne", "Grondin",
    "Poulain", "Tessier", "Chevallier", "Collin", "Chauvin", "Da Silva", "Bouchet", "Gay", "Lemaître", "Bénard",
    "Maréchal", "Humbert", "Reynaud", "Antoine", "Hoarau", "Perret", "Barthélemy", "Cordier", "Pichon",
    "Lejeune", "Gilbert", "Lamy", "Delaunay", "Pasquier", "Carlier", "Laporte", "Nguyen", "Diallo", "Traoré",
    "Benali", "Haddad", "Mansouri", "Cohen", "Dos Santos", "Ferreira", "Pereira", "Rodrigues", "Da Costa",
    "Kaya", "Yilmaz", "Ndiaye", "Diop", "Camara", "Bensaïd", "Amrani", "Belkacem", "Tran", "Le", "Pham",
    "Ribeiro", "Martins", "Lopes", "Fernandes", "Gonçalves", "Moreira", "Keller", "Wagner", "Lang", "Baudry",
]

# (city, postal code, département code for the UAI). Street addresses are invented.
CITIES = [
    ("Lyon", "69008", "069"), ("Villeurbanne", "69100", "069"), ("Vénissieux", "69200", "069"),
    ("Paris", "75011", "075"), ("Paris", "75019", "075"), ("Marseille", "13005", "013"),
    ("Aix-en-Provence", "13090", "013"), ("Bordeaux", "33000", "033"), ("Mérignac", "33700", "033"),
    ("Lille", "59000", "059"), ("Roubaix", "59100", "059"), ("Toulouse", "31400", "031"),
    ("Nantes", "44000", "044"), ("Saint-Nazaire", "44600", "044"), ("Strasbourg", "67000", "067"),
    ("Montpellier", "34000", "034"), ("Rennes", "35000", "035"), ("Grenoble", "38000", "038"),
    ("Nice", "06000", "006"), ("Nanterre", "92000", "092"), ("Montreuil", "93100", "093"),
    ("Créteil", "94000", "094"), ("Dijon", "21000", "021"), ("Clermont-Ferrand", "63000", "063"),
    ("Tours", "37000", "037"), ("Limoges", "87000", "087"), ("Rouen", "76000", "076"), ("Brest", "29200", "029"),
    ("Metz", "57000", "057"), ("Besançon", "25000", "025"), ("Poitiers", "86000", "086"), ("Pau", "64000", "064"),
]
STREETS = [
    "rue des Tilleuls", "avenue de la République", "rue Victor Hugo", "place de la Mairie", "rue du Stade",
    "boulevard Jean Jaurès", "rue des Écoles", "allée des Platanes", "rue Pasteur", "chemin des Vignes",
    "rue de la Paix", "avenue du Général Leclerc", "rue des Lilas", "rue Jules Ferry", "rue du Moulin",
]
# People French collèges and écoles are most often named after.
COLLEGE_PATRONS = [
    "Jean Moulin", "Victor Hugo", "Jules Ferry", "Jean Jaurès", "Louis Pasteur", "Marie Curie", "Jacques Prévert",
    "Jean Rostand", "Albert Camus", "Paul Éluard", "Simone Veil", "Antoine de Saint-Exupéry", "Jules Verne",
    "Georges Brassens", "Pierre et Marie Curie", "Jean de La Fontaine", "Louise Michel", "Condorcet", "Voltaire",
    "Molière", "Lucie Aubrac", "Olympe de Gouges", "Jean Monnet", "Gérard Philipe", "Paul Langevin",
    "Marcel Pagnol", "Émile Zola", "Anne Frank", "Charles de Gaulle", "Romain Rolland", "Henri Matisse",
    "Camille Claudel", "Léonard de Vinci", "Claude Debussy", "Joliot-Curie", "George Sand", "Aimé Césaire",
]
ECOLE_PATRONS = [
    "Jean Jaurès", "Jules Ferry", "Jacques Prévert", "Paul Bert", "Louis Pergaud", "Marcel Pagnol", "Pauline Kergomard",
    "Les Tilleuls", "Le Petit Prince", "Robert Desnos", "Condorcet", "Jean Macé",
]

# The collège's subjects: (code, label, short label, classes per teacher, scope). Scope "class" subjects are
# taught to every class; "lv2" and "latin" are taught to groups spanning classes. Classes per teacher follow a
# realistic 18-hour service: 4-6 classes for core subjects, more for one-hour subjects (arts, music).
COLLEGE_SUBJECTS = [
    ("FRANC", "Français", "Français", 4, "class"),
    ("MATHS", "Mathématiques", "Maths", 5, "class"),
    ("HIGEO", "Histoire-géographie, enseignement moral et civique", "Hist.-géo.", 4, "class"),
    ("ANGL1", "Anglais LV1", "Anglais", 5, "class"),
    ("SVT", "Sciences de la vie et de la Terre", "SVT", 8, "class"),
    ("PHYCH", "Physique-chimie", "Phys.-chimie", 8, "class"),
    ("TECHN", "Technologie", "Techno.", 8, "class"),
    ("EPS", "Éducation physique et sportive", "EPS", 5, "class"),
    ("ARPLA", "Arts plastiques", "Arts plast.", 12, "class"),
    ("EDMUS", "Éducation musicale", "Musique", 12, "class"),
    ("ESP2", "Espagnol LV2", "Espagnol", 6, "lv2"),
    ("ALL2", "Allemand LV2", "Allemand", 6, "lv2"),
    ("LCALA", "Langues et cultures de l'Antiquité — latin", "Latin", 6, "latin"),
]
# Subjects whose practical work is taught in half-classes.
HALF_CLASS_SUBJECTS = ("SVT", "PHYCH", "TECHN")
# Subjects whose teacher may be a class's professeur principal.
MAIN_TEACHER_SUBJECTS = ("FRANC", "MATHS", "HIGEO", "ANGL1", "SVT", "PHYCH", "TECHN", "EPS")

# An école élémentaire: one polyvalent teacher per class teaches every subject.
ECOLE_SUBJECTS = [
    ("FRANC", "Français", "Français"),
    ("MATHS", "Mathématiques", "Maths"),
    ("QLM", "Questionner le monde", "Questionner le monde"),
    ("HIGEO", "Histoire-géographie", "Hist.-géo."),
    ("SCTEC", "Sciences et technologie", "Sciences"),
    ("LVE", "Langue vivante (anglais)", "Anglais"),
    ("EPS", "Éducation physique et sportive", "EPS"),
    ("ARTS", "Enseignements artistiques", "Arts"),
    ("EMC", "Enseignement moral et civique", "EMC"),
]
ECOLE_SUBJECTS_BY_LEVEL = {
    "CP": ("FRANC", "MATHS", "QLM", "LVE", "EPS", "ARTS", "EMC"),
    "CE1": ("FRANC", "MATHS", "QLM", "LVE", "EPS", "ARTS", "EMC"),
    "CE2": ("FRANC", "MATHS", "QLM", "LVE", "EPS", "ARTS", "EMC"),
    "CM1": ("FRANC", "MATHS", "HIGEO", "SCTEC", "LVE", "EPS", "ARTS", "EMC"),
    "CM2": ("FRANC", "MATHS", "HIGEO", "SCTEC", "LVE", "EPS", "ARTS", "EMC"),
}

# Collège levels: (level, class-code prefix, MEF code, MEF label, MEF short label, birth year in 2026-2027).
# MEF codes are the national BCN codes found in SIECLE exports (6EME, 5EME, 4EME, 3EME).
COLLEGE_LEVELS = [
    ("6e", "6", "10010012110", "Sixième", "6EME", 2015),
    ("5e", "5", "10110001110", "Cinquième", "5EME", 2014),
    ("4e", "4", "10210001110", "Quatrième", "4EME", 2013),
    ("3e", "3", "10310019110", "Troisième", "3EME", 2012),
]
# École levels: (level, birth year). Primary classes carry no MEF (ONDE, not SIECLE, manages them).
ECOLE_LEVELS = [("CP", 2020), ("CE1", 2019), ("CE2", 2018), ("CM1", 2017), ("CM2", 2016)]

# School year 2026-2027 and its trimesters (zone A calendar, rounded to the holidays).
YEAR_LABEL = "2026-2027"
YEAR_START = (2026, 9, 1)
YEAR_END = (2027, 7, 3)
TRIMESTERS = [
    ("1er trimestre", (2026, 9, 1), (2026, 11, 30)),
    ("2e trimestre", (2026, 12, 1), (2027, 3, 7)),
    ("3e trimestre", (2027, 3, 8), (2027, 7, 3)),
]

# Letters of the UAI check key: the 7-digit number modulo 23 indexes this alphabet (no I, O, Q).
UAI_KEY_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
